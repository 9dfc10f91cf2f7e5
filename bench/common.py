"""common.py - what the bench/ scripts share: where vz is, the machine record, result files.

Every script writes its results as JSON into bench-data/results/ (git-ignored), one file stamped
with the time of the run and one fixed name that always holds the latest run, and records the
machine (CPU, memory, load, library versions) with them, because the figures depend on it.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import re
import socket
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def default_vz() -> str:
    """The release vz binary of $CARGO_TARGET_DIR (default target/)."""
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target"))
    return os.path.join(target, "release", "vz")


def machine() -> dict:
    """CPU, memory, platform, load average and the versions of the Python baselines."""
    info = {"platform": platform.platform(), "python": platform.python_version(),
            "cpus": os.cpu_count(), "loadavg_at_start": os.getloadavg()}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            info["mem_total"] = f.readline().split(":", 1)[1].strip()
    except OSError:
        pass
    try:
        import h5py
        import kerchunk
        info.update(h5py=h5py.__version__, hdf5=h5py.version.hdf5_version, kerchunk=kerchunk.__version__)
    except ImportError:
        pass
    return info


def write_results(out_dir: str, name: str, results: dict, latest: str | None = None) -> str:
    """Write `results` as <name>-<time>.json and `latest` (default <name>-latest.json) in
    `out_dir`; return the path of the first."""
    os.makedirs(out_dir, exist_ok=True)
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    text = json.dumps(results, indent=1)
    for fname in ("%s-%s.json" % (name, stamp), latest or "%s-latest.json" % name):
        with open(os.path.join(out_dir, fname), "w") as f:
            f.write(text + "\n")
    return os.path.join(out_dir, "%s-%s.json" % (name, stamp))


def now() -> str:
    """The time of the run, as recorded in every results file."""
    return _dt.datetime.now().isoformat(timespec="seconds")


def stop_process(proc: subprocess.Popen, log) -> None:
    """Terminate a helper server (kill it after 10 s) and close its log."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()


# ----------------------------------------------------------------------------- S3 (moto)
S3_KEY, S3_REGION = "testing", "us-east-1"

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Moto:
    """moto's S3 server on 127.0.0.1; its request log (werkzeug) goes to a file we can count."""

    LINE = re.compile(r'"(GET|HEAD|PUT|POST|DELETE) (\S+) HTTP/[\d.]+" (\d+)')
    ANSI = re.compile(r"\x1b\[[0-9;]*m")

    def __init__(self, log_path: str):
        self.port = free_port()
        self.endpoint = "http://127.0.0.1:%d" % self.port
        self.log_path = log_path
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise SystemExit("moto exited (%s), see %s" % (self.proc.returncode, log_path))
            try:
                urllib.request.urlopen(self.endpoint + "/", timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise SystemExit("moto did not answer within 60 s, see %s" % log_path)
                time.sleep(0.2)

    def requests(self) -> list[tuple[str, str, int]]:
        self.log.flush()
        with open(self.log_path) as f:
            # werkzeug colours some lines (ANSI escapes inside the quoted request line).
            lines = (self.ANSI.sub("", line) for line in f)
            return [(m.group(1), m.group(2), int(m.group(3))) for m in map(self.LINE.search, lines) if m]

    def upload(self, granules: list[str], bucket: str = "vz-bench") -> list[str]:
        """Create `bucket` and upload the granules under atl06/; their s3:// URLs."""
        import boto3

        client = boto3.client("s3", endpoint_url=self.endpoint, region_name=S3_REGION,
                              aws_access_key_id=S3_KEY, aws_secret_access_key=S3_KEY)
        client.create_bucket(Bucket=bucket)
        urls = []
        for g in granules:
            key = "atl06/" + os.path.basename(g)
            client.upload_file(g, bucket, key)
            urls.append("s3://%s/%s" % (bucket, key))
        return urls

    @staticmethod
    def env() -> dict:
        """The environment for a vz talking to this server (credentials; no AWS_ENDPOINT_URL)."""
        env = dict(os.environ, AWS_ACCESS_KEY_ID=S3_KEY, AWS_SECRET_ACCESS_KEY=S3_KEY, AWS_REGION=S3_REGION)
        env.pop("AWS_ENDPOINT_URL", None)
        return env

    def stop(self) -> None:
        stop_process(self.proc, self.log)
