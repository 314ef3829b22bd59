"""The Kafka broker's jars, resolved once from Maven Central into a cache outside the repo."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

POM = Path(__file__).with_name("pom.xml")


class DistributionError(RuntimeError):
    """The broker's jars could not be resolved."""


def kafka_version(pom: Path = POM) -> str:
    match = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", pom.read_text())
    if match is None:
        raise DistributionError(f"{pom} names no <kafka.version>")
    return match.group(1)


@dataclass(frozen=True)
class KafkaDistribution:
    """Apache Kafka's broker classpath under ``cache_dir/kafka-<version>/libs``."""

    cache_dir: Path
    version: str = kafka_version()

    @property
    def libs(self) -> Path:
        return self.cache_dir / f"kafka-{self.version}" / "libs"

    @property
    def classpath(self) -> str:
        return f"{self.libs}/*"

    def is_resolved(self) -> bool:
        return (self.libs / f"kafka_2.13-{self.version}.jar").is_file()

    def ensure(self) -> KafkaDistribution:
        """Resolve the jars with Maven unless the cache already holds them."""
        if self.is_resolved():
            return self
        mvn = shutil.which("mvn")
        if mvn is None:
            raise DistributionError("Maven (mvn) is not on PATH; install it to fetch Kafka's jars")
        partial = self.libs.with_name("libs.partial")
        shutil.rmtree(partial, ignore_errors=True)
        command = [
            mvn,
            "-q",
            "-B",
            "-f",
            str(POM),
            "dependency:copy-dependencies",
            f"-Dkafka.version={self.version}",
            f"-DoutputDirectory={partial}",
            "-DincludeScope=runtime",
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            tail = (done.stdout + done.stderr).strip().splitlines()[-15:]
            raise DistributionError("mvn could not resolve Kafka's jars:\n" + "\n".join(tail))
        # Rename last, so an interrupted download is never mistaken for a complete one.
        partial.rename(self.libs)
        return self
