"""A real single-node Apache Kafka broker (KRaft), run from Maven Central jars on the local JDK.

`pom.xml` beside this file names the broker artifact; Maven copies its runtime classpath into
`<home>/kafka/lib` once (and `~/.m2` caches the downloads). Data and logs live in `<home>/kafka`.
Readiness is a real client metadata call, not an open port.
"""

import asyncio
import logging
import shutil
import subprocess
import time
import uuid
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, KafkaError, TopicAlreadyExistsError

from darkhorses.infra.errors import InfraError
from darkhorses.infra.process import read_pid, spawn_detached, terminate
from darkhorses.settings import LocalInfraSettings
from darkhorses.topics import check_topics
from schemas.topics import ALL_TOPICS, Topic

log = logging.getLogger(__name__)

POM = Path(__file__).with_name("pom.xml")
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
READY_TIMEOUT_S = 90.0

LOG4J2 = """\
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = {log_file}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.server.name = kafka.server.KafkaRaftServer
logger.server.level = INFO
"""

SERVER_PROPERTIES = """\
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{controller_port}
listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}
advertised.listeners=PLAINTEXT://127.0.0.1:{port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs={data_dir}
num.partitions=3
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.segment.bytes=67108864
"""


class KafkaBroker:
    """Install, start, check and stop the local broker described by `LocalInfraSettings`."""

    def __init__(self, settings: LocalInfraSettings) -> None:
        self.settings = settings
        self.root = settings.home.resolve() / "kafka"
        self.lib = self.root / "lib"
        self.data = self.root / "data"
        self.pid_file = self.root / "broker.pid"
        self.log_file = self.root / "broker.log"

    @property
    def bootstrap(self) -> str:
        return self.settings.kafka_bootstrap

    def install(self) -> None:
        """Materialise the broker classpath from Maven Central (a no-op once done)."""
        if any(self.lib.glob("kafka_2.13-*.jar")):
            return
        mvn = shutil.which("mvn")
        if mvn is None:
            raise InfraError("Maven (mvn) is needed to fetch the Kafka broker jars; install it")
        log.info("fetching Kafka broker jars with Maven into %s", self.lib)
        subprocess.run(
            [mvn, "-q", "-B", "-f", str(POM), f"{DEPENDENCY_PLUGIN}:copy-dependencies",
             f"-DoutputDirectory={self.lib}", "-DincludeScope=runtime"],
            check=True,
        )  # fmt: skip

    def _java(self, main: str, *args: str, heap: str = "256m") -> list[str]:
        java = shutil.which("java")
        if java is None:
            raise InfraError("a Java 17+ runtime (java) is needed to run the Kafka broker")
        # C1 only: the optimising C2 compiler spends the broker's first minutes compiling, on
        # cores the worker and PostgreSQL need (bench card: broker CPU 6.5 -> 3 µs a price).
        return [
            java, f"-Xms{heap}", f"-Xmx{heap}", "-XX:+UseG1GC", "-XX:TieredStopAtLevel=1",
            f"-Dlog4j2.configurationFile={self.root / 'log4j2.properties'}",
            "-cp", f"{self.lib}/*", main, *args,
        ]  # fmt: skip

    def _write_configs(self) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "log4j2.properties").write_text(LOG4J2.format(log_file=self.log_file))
        properties = self.root / "server.properties"
        properties.write_text(
            SERVER_PROPERTIES.format(
                port=self.settings.kafka_port,
                controller_port=self.settings.kafka_controller_port,
                data_dir=self.data,
            )
        )
        return properties

    def start(self) -> None:
        """Start the broker in the background (if not running) and wait until it answers."""
        if read_pid(self.pid_file) is None:
            self.install()
            properties = self._write_configs()
            if not (self.data / "meta.properties").exists():
                cluster_id = uuid.uuid4().hex[:22]
                subprocess.run(
                    self._java("kafka.tools.StorageTool", "format", "-t", cluster_id,
                               "-c", str(properties), "--ignore-formatted"),
                    check=True, stdout=subprocess.DEVNULL,
                )  # fmt: skip
            pid = spawn_detached(
                self._java("kafka.Kafka", str(properties), heap=self.settings.kafka_heap),
                self.root / "stdout.log",
            )
            self.pid_file.write_text(str(pid))
            log.info("Kafka broker starting (pid %d) on %s", pid, self.bootstrap)
        asyncio.run(wait_until_ready(self.bootstrap, pid_file=self.pid_file))

    def stop(self) -> None:
        pid = read_pid(self.pid_file)
        if pid is not None:
            terminate(pid, timeout_s=30)
            log.info("Kafka broker stopped (pid %d)", pid)
        self.pid_file.unlink(missing_ok=True)

    def is_running(self) -> bool:
        return read_pid(self.pid_file) is not None

    def wipe(self) -> None:
        """Stop and delete the broker's data (jars stay)."""
        self.stop()
        shutil.rmtree(self.data, ignore_errors=True)


async def wait_until_ready(
    bootstrap: str, timeout_s: float = READY_TIMEOUT_S, pid_file: Path | None = None
) -> None:
    """Block until a metadata request to `bootstrap` succeeds."""
    deadline = time.monotonic() + timeout_s
    # aiokafka logs every refused connection at ERROR; while waiting, that is expected noise.
    quiet = logging.getLogger("aiokafka")
    previous_level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        await _poll_until_ready(bootstrap, deadline, pid_file)
    finally:
        quiet.setLevel(previous_level)


async def _poll_until_ready(bootstrap: str, deadline: float, pid_file: Path | None) -> None:
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if pid_file is not None and read_pid(pid_file) is None:
            raise InfraError(f"Kafka broker exited during start-up; see {pid_file.parent}/*.log")
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
        try:
            await admin.start()
            await admin.describe_cluster()
        except (KafkaError, OSError) as error:
            last_error = error
            await asyncio.sleep(0.5)
        else:
            return
        finally:
            await admin.close()
    raise InfraError(f"Kafka at {bootstrap} not ready in time: {last_error}")


async def ensure_topics(bootstrap: str, topics: tuple[Topic, ...] = ALL_TOPICS) -> None:
    """Create every registered topic that does not exist yet, with its registry settings; raise
    `TopicsMismatch` if one exists with another partition count."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(
                t.name, num_partitions=t.partitions, replication_factor=1, topic_configs=t.configs
            )
            for t in topics
            if t.name not in existing
        ]
        if missing:
            try:
                await admin.create_topics(missing)
            except TopicAlreadyExistsError:
                log.debug("topics created concurrently by another process")
    except KafkaConnectionError as error:
        raise InfraError(f"cannot reach Kafka at {bootstrap} to create topics: {error}") from error
    finally:
        await admin.close()
    await check_topics(bootstrap, topics)
