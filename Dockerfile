FROM python:3.11.11-slim
WORKDIR /app
# Exactly the locked, hash-checked versions (requirements.lock, also used by scripts/install-python;
# it includes the test tools), then kpiwatch itself without dependencies, built with the locked
# setuptools.
COPY requirements.lock ./
RUN pip install --no-cache-dir --disable-pip-version-check --root-user-action=ignore \
        --require-hashes -r requirements.lock
COPY pyproject.toml README.md ./
COPY kpiwatch kpiwatch
COPY models models
COPY streams streams
COPY alerts alerts
COPY metrics metrics
COPY devstack devstack
COPY simulator simulator
RUN pip install --no-cache-dir --disable-pip-version-check --root-user-action=ignore \
        --no-deps --no-build-isolation --check-build-dependencies . \
    && useradd --system kpiwatch
USER kpiwatch
EXPOSE 6066
CMD ["kpiwatch", "worker", "--loglevel", "info"]
