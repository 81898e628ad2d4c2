"""The real packetstackd for the proof scripts (crash_test, api_fuzz, hostile_clients, soak):
started on an ephemeral loopback port with its own database, its stderr kept."""
import os, re, subprocess, threading

class Server:
    def __init__(self, binary, db, *flags):
        # In the database's folder, so the embedded migrations are what runs.
        self.proc = subprocess.Popen([binary, "--listen", "127.0.0.1:0", "--db", db, *flags], cwd=os.path.dirname(db),
                                     stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
        line, early = b"", []
        while b"listening on http://127.0.0.1:" not in line:
            line = self.proc.stderr.readline()
            early.append(line)
            if not line:
                code = self.proc.wait()
                raise SystemExit(f"{binary} did not start (exit {code}): " + b"".join(early).decode(errors="replace")[-4000:])
        self.port = int(line.split(b"127.0.0.1:")[1].split()[0])
        self.log = []
        threading.Thread(target=lambda: self.log.extend(self.proc.stderr), daemon=True).start()

    @property
    def pid(self): return self.proc.pid
    @property
    def returncode(self): return self.proc.returncode
    def poll(self): return self.proc.poll()
    def terminate(self): self.proc.terminate()
    def kill(self): self.proc.kill()
    def wait(self, timeout=None): return self.proc.wait(timeout=timeout)

    def rss_mib(self, field="VmRSS"):
        with open(f"/proc/{self.proc.pid}/status") as f:
            return int(re.search(field + r":\s+(\d+)", f.read()).group(1)) / 1024

    def log_tail(self, n=12000):
        return b"".join(self.log)[-n:].decode(errors="replace")
