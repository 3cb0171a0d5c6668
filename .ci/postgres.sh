#!/usr/bin/env bash
# Make sure a local PostgreSQL 15 cluster runs and holds the role and database the tests use.
# Prints the URL to use; exits non-zero (loudly) if PostgreSQL cannot be started.
set -euo pipefail
user=phonesys password=phonesys database=phonesys_test

if ! command -v pg_lsclusters >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "postgres.sh: PostgreSQL is not installed; installing it with apt-get" >&2
  (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql) >&2
fi
if ! command -v pg_lsclusters >/dev/null 2>&1; then
  echo "postgres.sh: PostgreSQL is not installed (no pg_lsclusters); install postgresql-15" >&2
  exit 1
fi
cluster=$(pg_lsclusters --no-header | awk 'NR==1 {print $1" "$2}')
if [ -z "$cluster" ]; then
  echo "postgres.sh: no PostgreSQL cluster found (pg_lsclusters is empty)" >&2
  exit 1
fi
if ! pg_lsclusters --no-header | awk 'NR==1 {print $4}' | grep -q online; then
  pg_ctlcluster $cluster start >&2
fi
for _ in $(seq 1 30); do
  pg_isready -q -h 127.0.0.1 && break
  sleep 1
done
pg_isready -q -h 127.0.0.1 || { echo "postgres.sh: PostgreSQL did not become ready" >&2; exit 1; }

cd /  # psql as postgres cannot enter a private working directory
as_postgres() { su postgres -c "psql -v ON_ERROR_STOP=1 -qtA $*" >&2; }
if [ -z "$(su postgres -c "psql -qtA -c \"SELECT 1 FROM pg_roles WHERE rolname='$user'\"")" ]; then
  as_postgres "-c \"CREATE ROLE $user LOGIN PASSWORD '$password'\""
fi
if [ -z "$(su postgres -c "psql -qtA -c \"SELECT 1 FROM pg_database WHERE datname='$database'\"")" ]; then
  as_postgres "-c \"CREATE DATABASE $database OWNER $user\""
fi
echo "postgresql+psycopg://$user:$password@127.0.0.1:5432/$database"
