"""Apache Kafka, single node in KRaft mode, run straight from its jars.

The jars come from Maven Central through ``devstack/kafka/pom.xml`` (resolved once into a
cache outside the repository) or from an Apache Kafka distribution named by
``KPIWATCH_KAFKA_HOME``. No Docker and no download script: Maven is the only client needed.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import re
import socket
import subprocess
import uuid
from pathlib import Path

from devstack.prerequisites import require
from devstack.process import ManagedProcess, ServiceError
from kpiwatch.settings import Settings

HERE = Path(__file__).parent
POM = HERE / "kafka" / "pom.xml"
LOG4J_CONFIG = HERE / "kafka" / "log4j2.yaml"


def kafka_version() -> str:
    match = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", POM.read_text())
    if match is None:  # pragma: no cover - the pom is part of the package
        raise ServiceError(f"{POM} has no <kafka.version>")
    return match.group(1)


def cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "kpiwatch" / f"kafka-{kafka_version()}"


def kafka_classpath(settings: Settings) -> str:
    """The broker's classpath, resolving the jars from Maven Central on first use."""
    if settings.kafka_home is not None:
        libs = settings.kafka_home / "libs"
        if not any(libs.glob("kafka_*.jar")):
            raise ServiceError(
                f"KPIWATCH_KAFKA_HOME={settings.kafka_home} has no libs/kafka_*.jar: "
                "point it at an unpacked Apache Kafka distribution, or unset it to use Maven."
            )
        return f"{libs}/*"
    libs = cache_dir() / "libs"
    complete = cache_dir() / ".complete"
    if not complete.exists():
        mvn = require("mvn")["mvn"]
        print(f"kafka: resolving Apache Kafka {kafka_version()} jars from Maven Central "
              f"into {libs} (first run only) ...", flush=True)
        result = subprocess.run(
            [mvn, "-q", "-B", "-f", str(POM), "dependency:copy-dependencies",
             f"-DoutputDirectory={libs}"],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise ServiceError(
                "kafka: Maven could not resolve the Kafka jars:\n"
                + (result.stdout + result.stderr)[-2000:]
                + "\nCheck that Maven Central is reachable, or set KPIWATCH_KAFKA_HOME."
            )
        complete.write_text(kafka_version())
    return f"{libs}/*"


def server_properties(settings: Settings, data_dir: Path) -> str:
    host = "127.0.0.1"
    return "\n".join([
        "process.roles=broker,controller",
        "node.id=1",
        f"controller.quorum.voters=1@{host}:{settings.kafka_controller_port}",
        f"listeners=PLAINTEXT://{host}:{settings.kafka_port},"
        f"CONTROLLER://{host}:{settings.kafka_controller_port}",
        f"advertised.listeners=PLAINTEXT://{host}:{settings.kafka_port}",
        "controller.listener.names=CONTROLLER",
        "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "inter.broker.listener.name=PLAINTEXT",
        f"log.dirs={data_dir}",
        f"num.partitions={settings.topic_partitions}",
        "offsets.topic.replication.factor=1",
        "offsets.topic.num.partitions=8",
        "transaction.state.log.replication.factor=1",
        "transaction.state.log.min.isr=1",
        "share.coordinator.state.topic.replication.factor=1",
        # A single local node: no reason to wait for more group members before assigning.
        "group.initial.rebalance.delay.ms=0",
        "auto.create.topics.enable=false",
        "",
    ])


def kafka_process(settings: Settings) -> ManagedProcess:
    java = require("java")["java"]
    classpath = kafka_classpath(settings)
    kafka_dir = (settings.run_dir / "kafka").resolve()
    data_dir = kafka_dir / "data"
    kafka_dir.mkdir(parents=True, exist_ok=True)
    config = kafka_dir / "server.properties"
    config.write_text(server_properties(settings, data_dir))
    java_opts = [
        "-Xms256m", "-Xmx1g", "-XX:+UseG1GC", "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
    ]
    if not (data_dir / "meta.properties").exists():
        result = subprocess.run(
            [java, *java_opts, "-cp", classpath, "kafka.tools.StorageTool", "format",
             # --cluster-id=: a random id may start with "-" and read as an option after -t.
             f"--cluster-id={_cluster_id()}", "-c", str(config)],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise ServiceError("kafka: formatting KRaft storage failed:\n" + result.stdout
                               + result.stderr)
    return ManagedProcess(
        "kafka",
        [java, *java_opts, "-cp", classpath, "kafka.Kafka", str(config)],
        settings.run_dir,
        healthy=lambda: broker_ready(settings.kafka_bootstrap_servers),
    )


def _cluster_id() -> str:
    # KRaft wants a base64url UUID without padding, as `kafka-storage random-uuid` prints.
    import base64

    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def broker_ready(bootstrap_servers: str) -> bool:
    """True once the broker answers a metadata request that lists itself."""
    host, _, port = bootstrap_servers.split(",")[0].rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=1).close()
    except OSError:
        return False  # not listening yet; spare the client's connection-error logs

    async def probe() -> bool:
        from aiokafka.admin import AIOKafkaAdminClient

        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=3000)
        try:
            await admin.start()
            cluster = await admin.describe_cluster()
            return bool(cluster.get("brokers")) and cluster.get("controller_id", -1) != -1
        finally:
            await admin.close()

    # The caller may already be inside an event loop (pytest-asyncio, Faust): probe elsewhere.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, probe()).result(timeout=10)
