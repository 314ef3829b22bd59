FROM python:3.11-slim
WORKDIR /app
COPY . /app
RUN pip install --no-cache-dir -e .
ENV STREAMS_DATA_DIR=/var/lib/streams
EXPOSE 6066
CMD ["streams", "worker"]
