"""Programs the local stack needs, and what to do when one is missing."""

from __future__ import annotations

import shutil

from devstack.process import ServiceError

# program -> how to get it (Debian/Ubuntu first: that is what scripts/install-services does)
HOW_TO_INSTALL = {
    "java": "apt-get install openjdk-17-jre-headless (Kafka 4 needs Java 17+)",
    "mvn": "apt-get install maven (resolves the Kafka jars from Maven Central), "
    "or set KPIWATCH_KAFKA_HOME to an Apache Kafka distribution",
    "redis-server": "apt-get install redis-server",
    "prometheus": "apt-get install prometheus",
    "promtool": "apt-get install prometheus",
}


def require(*programs: str) -> dict[str, str]:
    """Paths of the programs; ServiceError naming every missing one and how to install it."""
    found = {name: shutil.which(name) for name in programs}
    missing = [name for name, path in found.items() if path is None]
    if missing:
        lines = ["the local stack needs programs that are not on PATH:"]
        lines += [f"  {name}: {HOW_TO_INSTALL.get(name, 'install it')}" for name in missing]
        lines.append("  or run scripts/install-services, which installs all of them (Debian).")
        raise ServiceError("\n".join(lines))
    return {name: path for name, path in found.items() if path is not None}
