FROM python:3.11.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY kpiwatch kpiwatch
COPY models models
COPY streams streams
COPY alerts alerts
COPY metrics metrics
COPY localstack localstack
COPY simulator simulator
RUN pip install --no-cache-dir . && useradd --system kpiwatch
USER kpiwatch
EXPOSE 6066
CMD ["kpiwatch", "worker", "--loglevel", "info"]
