FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 ACORN_VAR_DIR=/app/var
WORKDIR /app
COPY pyproject.toml README.md ./
COPY acorn acorn
COPY channels channels
COPY inventory inventory
COPY orders orders
COPY refunds refunds
COPY finance finance
# The product only: no extras, so neither the simulator nor graphql-core (dev extra) is installed.
RUN pip install --no-cache-dir .
# .dockerignore keeps the simulator and the tests out of the image.
COPY . .
# Fail the build if the simulator or its dependency slipped in after all.
RUN python -c "import importlib.util as u, sys; found = [m for m in ('simulator', 'graphql') if u.find_spec(m)]; \
sys.exit(f'development tools in the production image: {found}' if found else 0)"
RUN useradd --create-home acorn && mkdir -p /app/var && chown -R acorn /app/var
USER acorn
EXPOSE 8000
