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
RUN pip install --no-cache-dir .
COPY . .
RUN useradd --create-home acorn && mkdir -p /app/var && chown -R acorn /app/var
USER acorn
EXPOSE 8000
