<?php
// WordPress never creates its own database: its installer assumes one
// exists. This creates it through the first marmot node and returns only
// once every node has it, so no WordPress starts against a node that has
// not applied the CREATE DATABASE yet. Used by compose.yml (wordpress image)
// and run-local.sh (the host's php).
//
//   php db-init.php DBNAME HOST:PORT [HOST:PORT ...]
//
// DB_USER, DB_PASSWORD (default root, empty) and DB_INIT_TIMEOUT (seconds,
// default 120) come from the environment.

if ($argc < 3) {
    fwrite(STDERR, "usage: php db-init.php DBNAME HOST:PORT [HOST:PORT ...]\n");
    exit(2);
}
$db = $argv[1];
$nodes = array_slice($argv, 2);
$user = getenv('DB_USER') !== false ? getenv('DB_USER') : 'root';
$password = getenv('DB_PASSWORD') !== false ? getenv('DB_PASSWORD') : '';
$timeout = (int) (getenv('DB_INIT_TIMEOUT') ?: 120);
$deadline = time() + $timeout;

if (!preg_match('/^[A-Za-z0-9_]+$/', $db)) {
    fwrite(STDERR, "db-init: database name must be letters, digits and _\n");
    exit(2);
}

// A node may still be starting or joining (a CREATE DATABASE at QUORUM
// needs a majority of members): every step is retried until the deadline.
function retry($what, $deadline, $fn)
{
    $last = '';
    while (true) {
        try {
            $fn();
            return;
        } catch (Throwable $e) {
            $last = $e->getMessage();
        }
        if (time() >= $deadline) {
            fwrite(STDERR, "db-init: $what: $last\n");
            exit(1);
        }
        usleep(500000);
    }
}

function connect($node, $user, $password, $db = null)
{
    [$host, $port] = explode(':', $node, 2) + [1 => '3306'];
    mysqli_report(MYSQLI_REPORT_ERROR | MYSQLI_REPORT_STRICT);
    return new mysqli($host, $user, $password, $db, (int) $port);
}

retry("create database $db on {$nodes[0]}", $deadline, function () use ($nodes, $user, $password, $db) {
    $m = connect($nodes[0], $user, $password);
    $m->query("CREATE DATABASE IF NOT EXISTS `$db`");
    $m->close();
});
foreach ($nodes as $node) {
    retry("database $db on $node", $deadline, function () use ($node, $user, $password, $db) {
        connect($node, $user, $password, $db)->close();
    });
    echo "db-init: $db is on $node\n";
}
