"""A one-node SLURM cluster on this machine, from Debian's slurm-wlm and munge packages.

    python tests/slurm/cluster.py start [STATE_DIR]
    python tests/slurm/cluster.py stop [STATE_DIR]

`start` generates a munge key under STATE_DIR (default /tmp/synthdet-slurm) and
/etc/slurm/slurm.conf and gres.conf (refusing to replace files it did not write), runs
munged, slurmctld -D and slurmd -D as children it records by process id, and waits until
`sinfo` shows the node idle. `stop` ends exactly those ids and removes the two files.
State, spool, logs and SLURM's job completion record (jobcomp.log) stay in STATE_DIR.
The node advertises `gpu` GRES without devices: SLURM schedules on the counts, as a GPU
cluster does, and the jobs run on the CPU. Partitions: `cpu` (default) and `gpu`.

Needs root (slurmd starts jobs as their user) and the Debian packages
`slurmctld slurmd slurm-client munge`; `missing()` says which is absent.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

DEFAULT_STATE = Path("/tmp/synthdet-slurm")
DAEMONS = ("munged", "slurmctld", "slurmd")
PROGRAMS = {  # program -> Debian package
    "munged": "munge",
    "mungekey": "munge",
    "slurmctld": "slurmctld",
    "slurmd": "slurmd",
    "sbatch": "slurm-client",
    "squeue": "slurm-client",
    "sinfo": "slurm-client",
    "scontrol": "slurm-client",
}
PATHS = ("/usr/sbin", "/usr/bin", "/sbin")
# What the node declares. SlurmdParameters=config_overrides makes SLURM believe these
# rather than the hardware, so jobs asking a real cluster's CPUs and memory fit; the test
# limits how many run at once (snakemake --jobs).
NODE_CPUS, NODE_MEMORY_MB, NODE_GPUS = 32, 512000, 2
PARTITIONS = ("cpu", "gpu")
STAND_IN_DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/urandom")
# The configuration goes where SLURM's commands look by default: the SLURM executor's job
# step drops SLURM_CONF (all SLURM_* variables) from the environment of `srun` in a job.
CONF_DIR = Path("/etc/slurm")
MARK = "# synthdet one-node test cluster (tests/slurm/cluster.py); removed by its stop"


def which(program):
    return shutil.which(program, path=os.pathsep.join([os.environ.get("PATH", ""), *PATHS]))


def missing():
    """Why this machine cannot run the cluster, or '' when it can."""
    reasons = []
    if os.geteuid() != 0:
        reasons.append("not root (slurmd must start jobs as their user)")
    packages = sorted({package for program, package in PROGRAMS.items() if not which(program)})
    if not packages and foreign_configuration():
        reasons.append(foreign_configuration())
    if packages:
        reasons.append(
            "Debian packages not installed: "
            + " ".join(packages)
            + " (apt-get install -y slurmctld slurmd slurm-client munge)"
        )
    return "; ".join(reasons)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def slurm_conf(state, host, port):
    return "\n".join(
        [
            MARK,
            "ClusterName=synthdet",
            f"SlurmctldHost={host}(127.0.0.1)",
            "SlurmUser=root",
            f"SlurmctldPort={port}",
            f"SlurmdPort={free_port()}",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            f"AuthInfo=socket={state}/munge/munge.socket",
            f"StateSaveLocation={state}/ctld",
            f"SlurmdSpoolDir={state}/spool",
            f"SlurmctldPidFile={state}/slurmctld.pid",
            f"SlurmdPidFile={state}/slurmd.pid",
            f"SlurmctldLogFile={state}/slurmctld.log",
            f"SlurmdLogFile={state}/slurmd.log",
            # No cgroups in a container: track job processes through /proc.
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none",
            # SLURM's own record of every finished job (partition, TRES with gres/gpu).
            "JobCompType=jobcomp/filetxt",
            f"JobCompLoc={state}/jobcomp.log",
            # Finished jobs stay visible to squeue for an hour: the executor polls squeue.
            "MinJobAge=3600",
            "SchedulerType=sched/backfill",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core_Memory",
            "SlurmdParameters=config_overrides",
            "GresTypes=gpu",
            "ReturnToService=2",
            "KillWait=2",
            "MaxJobCount=100000",
            f"NodeName={host} NodeAddr=127.0.0.1 CPUs={NODE_CPUS} "
            f"RealMemory={NODE_MEMORY_MB} Gres=gpu:{NODE_GPUS} State=UNKNOWN",
            f"PartitionName=cpu Nodes={host} Default=YES MaxTime=INFINITE State=UP",
            f"PartitionName=gpu Nodes={host} MaxTime=INFINITE State=UP",
            "",
        ]
    )


def write_configuration(state):
    host = socket.gethostname().split(".")[0]
    # A fresh cluster each time: no job ids, node states or drain reasons carried over.
    for folder in ("ctld", "spool"):
        shutil.rmtree(state / folder, ignore_errors=True)
    for name in ("jobcomp.log", "slurmctld.log", "slurmd.log"):
        (state / name).unlink(missing_ok=True)
    for folder in ("munge", "ctld", "spool"):
        (state / folder).mkdir(parents=True, exist_ok=True)
    (state / "munge").chmod(0o700)
    key = state / "munge" / "munge.key"
    if not key.exists():
        subprocess.run([which("mungekey"), "--create", f"--keyfile={key}"], check=True)
    key.chmod(0o600)
    (CONF_DIR / "slurm.conf").write_text(slurm_conf(state, host, free_port()))
    (CONF_DIR / "gres.conf").write_text(gres_conf())
    return CONF_DIR / "slurm.conf"


def gres_conf():
    """No GPUs here. SLURM 22.05 drops a GPU without a File=, so each one names a character
    device that exists everywhere: with task/none nothing opens or constrains it, and
    SLURM schedules on the count exactly as on a GPU node."""
    lines = [MARK, "AutoDetect=off"]
    lines += [f"Name=gpu File={device}" for device in STAND_IN_DEVICES[:NODE_GPUS]]
    return "\n".join(lines) + "\n"


def foreign_configuration():
    """A slurm.conf in CONF_DIR that this module did not write: never overwritten."""
    conf = CONF_DIR / "slurm.conf"
    if conf.exists() and not conf.read_text().startswith(MARK):
        return f"{conf} exists and is not this test cluster's (a real SLURM host?)"
    return ""


def environment(state):
    return {**os.environ, "SLURM_CONF": str(CONF_DIR / "slurm.conf")}


def daemon_commands(state):
    munge = state / "munge"
    return {
        "munged": [
            which("munged"),
            "--foreground",
            "--force",
            f"--socket={munge}/munge.socket",
            f"--key-file={munge}/munge.key",
            f"--pid-file={munge}/munged.pid",
            f"--log-file={munge}/munged.log",
            f"--seed-file={munge}/munged.seed",
        ],
        "slurmctld": [which("slurmctld"), "-D", "-i", "-f", str(CONF_DIR / "slurm.conf")],
        "slurmd": [which("slurmd"), "-D", "-f", str(CONF_DIR / "slurm.conf")],
    }


def sinfo_states(state):
    result = subprocess.run(
        [which("sinfo"), "--noheader", "--format=%P %t"],
        capture_output=True,
        text=True,
        env=environment(state),
    )
    return result.stdout.split() if result.returncode == 0 else []


def start(state=DEFAULT_STATE, timeout=60):
    """Start the cluster; returns the path of its slurm.conf. Raises RuntimeError naming
    what is missing or which daemon failed (with its log)."""
    reason = missing()
    if reason:
        raise RuntimeError(f"cannot start a SLURM cluster: {reason}")
    state = Path(state)
    stop(state)
    write_configuration(state)
    commands = daemon_commands(state)
    for name in DAEMONS:
        log = open(state / f"{name}.out", "w")
        process = subprocess.Popen(
            commands[name],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=environment(state),
            start_new_session=True,  # survives the starting shell; stop() ends it by id
        )
        (state / f"{name}.id").write_text(str(process.pid))
        if name == "munged":
            wait_for(lambda: (state / "munge" / "munge.socket").exists(), 10, state, name)
    wait_for(lambda: sinfo_states(state).count("idle") == len(PARTITIONS), timeout, state)
    return CONF_DIR / "slurm.conf"


def wait_for(condition, timeout, state, daemon=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        for name in DAEMONS:
            if not alive(state, name) and (state / f"{name}.id").exists():
                raise RuntimeError(f"{name} exited:\n{daemon_log(state, name)}")
        time.sleep(0.5)
    stop(state)
    what = daemon or "the node to be idle"
    raise RuntimeError(f"timed out after {timeout} s waiting for {what}; logs in {state}")


def daemon_log(state, name):
    logs = [state / f"{name}.out", state / f"{name}.log", state / "munge" / "munged.log"]
    return "\n".join(path.read_text()[-3000:] for path in logs[:2] if path.exists())


def pid(state, name):
    path = Path(state) / f"{name}.id"
    return int(path.read_text()) if path.exists() else None


def alive(state, name):
    number = pid(state, name)
    if number is None:
        return False
    try:
        finished, _ = os.waitpid(number, os.WNOHANG)  # reap our own children
        return finished == 0
    except ChildProcessError:  # not our child: started by an earlier `start`
        try:
            os.kill(number, 0)
            return True
        except ProcessLookupError:
            return False


def stop(state=DEFAULT_STATE):
    """End the daemons this module started (by their recorded ids), slurmd first."""
    state = Path(state)
    for name in reversed(DAEMONS):
        if alive(state, name):
            os.kill(pid(state, name), signal.SIGTERM)
            deadline = time.monotonic() + 15
            while alive(state, name) and time.monotonic() < deadline:
                time.sleep(0.2)
            if alive(state, name):
                os.kill(pid(state, name), signal.SIGKILL)
        (state / f"{name}.id").unlink(missing_ok=True)
    for name in ("slurm.conf", "gres.conf"):
        path = CONF_DIR / name
        if path.exists() and path.read_text().startswith(MARK):
            path.unlink()


def main(arguments):
    if not arguments or arguments[0] not in ("start", "stop"):
        sys.exit(__doc__)
    state = Path(arguments[1]) if len(arguments) > 1 else DEFAULT_STATE
    if arguments[0] == "stop":
        stop(state)
        return
    try:
        conf = start(state)
    except RuntimeError as error:
        sys.exit(str(error))
    print(f"export SLURM_CONF={conf}")


if __name__ == "__main__":
    main(sys.argv[1:])
