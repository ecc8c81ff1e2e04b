# Replication setup for the docker-compose MariaDB services: the same steps as the sandbox
# (src/sandbox/replication.ts). Runs once, from /docker-entrypoint-initdb.d, on the image's
# temporary init server (sourced by the entrypoint when not executable, run when executable).
#
#   MXO_NODE_ROLE=primary   RESET MASTER if init left GTIDs in the binlog (gtid_strict_mode would
#                           reject them on replicas), then the `repl` account, never replicated.
#   MXO_NODE_ROLE=replica   RESET MASTER likewise, then CHANGE MASTER TO the primary named by
#                           MXO_PRIMARY_HOST with MASTER_USE_GTID=slave_pos. The server starts
#                           the replication threads when it starts for real.
#
# MXO_REPL_PASSWORD is the `repl` account's password (the same on a primary and its replicas).

mxo_sql() {
  MYSQL_PWD="${MARIADB_ROOT_PASSWORD:-}" mariadb --protocol=socket -uroot -hlocalhost \
    --socket="${SOCKET:-/run/mysqld/mysqld.sock}" --batch --skip-column-names "$@"
}

mxo_quote() {
  # SQL string literal contents: escape backslashes and single quotes.
  local s=${1//\\/\\\\}
  printf '%s' "${s//\'/\\\'}"
}

mxo_setup_replication() {
  local role="${MXO_NODE_ROLE:-}"
  if [ -z "$role" ]; then
    echo "10-mxo-replication.sh: MXO_NODE_ROLE is not set (primary or replica)" >&2
    return 1
  fi
  if [ -z "${MXO_REPL_PASSWORD:-}" ]; then
    echo "10-mxo-replication.sh: MXO_REPL_PASSWORD is not set" >&2
    return 1
  fi
  local password
  password=$(mxo_quote "$MXO_REPL_PASSWORD")
  if [ -n "$(mxo_sql -e 'SELECT @@GLOBAL.gtid_binlog_pos')" ]; then
    mxo_sql -e 'RESET MASTER'
  fi
  case "$role" in
    primary)
      mxo_sql <<SQL
SET SESSION sql_log_bin = 0;
CREATE USER IF NOT EXISTS 'repl'@'%' IDENTIFIED BY '${password}';
GRANT REPLICATION SLAVE ON *.* TO 'repl'@'%';
SET SESSION sql_log_bin = 1;
SQL
      echo "10-mxo-replication.sh: primary ready (repl account created)"
      ;;
    replica)
      if [ -z "${MXO_PRIMARY_HOST:-}" ]; then
        echo "10-mxo-replication.sh: MXO_PRIMARY_HOST is not set on a replica" >&2
        return 1
      fi
      mxo_sql <<SQL
CHANGE MASTER TO MASTER_HOST = '$(mxo_quote "$MXO_PRIMARY_HOST")', MASTER_PORT = ${MXO_PRIMARY_PORT:-3306},
  MASTER_USER = 'repl', MASTER_PASSWORD = '${password}',
  MASTER_USE_GTID = slave_pos, MASTER_CONNECT_RETRY = 1;
SQL
      echo "10-mxo-replication.sh: replica of ${MXO_PRIMARY_HOST} configured (starts with the server)"
      ;;
    *)
      echo "10-mxo-replication.sh: MXO_NODE_ROLE must be primary or replica, got '$role'" >&2
      return 1
      ;;
  esac
}

mxo_setup_replication
