# hemesh: one agent per container (`hemesh compose` writes the services that use it).
#   docker build -t hemesh:latest .
#   docker run --rm hemesh:latest agent --help
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# What `pip install .` needs, and nothing else (see .dockerignore).
WORKDIR /src
COPY pyproject.toml README.md ./
COPY agents ./agents
COPY transport ./transport
COPY topologies ./topologies
COPY scenarios ./scenarios
RUN pip install . && rm -rf /src/build /src/*.egg-info

# A non-root user; /runs is where the agents' logs volume is mounted.
RUN useradd --create-home --uid 10001 --user-group hemesh \
    && mkdir /runs \
    && chown hemesh:hemesh /runs
USER hemesh
WORKDIR /home/hemesh

ENTRYPOINT ["hemesh"]
CMD ["--help"]
