<?php
// Drives marmot with PHP's mysqli and PDO: prepared statements (server-side
// and emulated), insert_id, NULLs and types.
$port = (int)$argv[1];
mysqli_report(MYSQLI_REPORT_ERROR | MYSQLI_REPORT_STRICT);
$m = new mysqli("127.0.0.1", "root", "", "", $port);
$m->query("CREATE DATABASE IF NOT EXISTS php");
$m->select_db("php");
$m->query("CREATE TABLE posts (ID BIGINT(20) UNSIGNED NOT NULL AUTO_INCREMENT, post_title TEXT NOT NULL, post_date DATETIME NOT NULL DEFAULT '0000-00-00 00:00:00', views INT, PRIMARY KEY (ID))");
$st = $m->prepare("INSERT INTO posts (post_title, post_date, views) VALUES (?, ?, ?)");
$title = "Hello 'world'"; $date = "2024-03-05 14:07:09"; $views = 7;
$st->bind_param("ssi", $title, $date, $views);
$st->execute();
$id = $m->insert_id;
if ($id <= 0 || $st->insert_id != $id) { fwrite(STDERR, "insert_id: $id / {$st->insert_id}\n"); exit(1); }
$views = null; $title = "second";
$st->execute();
$sel = $m->prepare("SELECT post_title, post_date, views FROM posts WHERE ID = ?");
$sel->bind_param("i", $id);
$sel->execute();
$res = $sel->get_result();
$row = $res->fetch_assoc();
if ($row["post_title"] !== "Hello 'world'" || $row["post_date"] !== "2024-03-05 14:07:09" || $row["views"] !== 7) {
    fwrite(STDERR, "mysqli row: " . var_export($row, true) . "\n"); exit(1);
}
$r = $m->query("SELECT COUNT(*) AS n, SUM(views IS NULL) AS nulls FROM posts")->fetch_assoc();
if ((int)$r["n"] !== 2 || (int)$r["nulls"] !== 1) { fwrite(STDERR, "counts: " . var_export($r, true) . "\n"); exit(1); }

foreach ([false, true] as $emulate) {
    $pdo = new PDO("mysql:host=127.0.0.1;port=$port;dbname=php", "root", "", [
        PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION,
        PDO::ATTR_EMULATE_PREPARES => $emulate,
    ]);
    $ins = $pdo->prepare("INSERT INTO posts (post_title, views) VALUES (:t, :v)");
    $ins->execute([":t" => "pdo " . ($emulate ? "emulated" : "native"), ":v" => 3]);
    $pid = (int)$pdo->lastInsertId();
    $q = $pdo->prepare("SELECT post_title, views FROM posts WHERE ID = ?");
    $q->execute([$pid]);
    $row = $q->fetch(PDO::FETCH_ASSOC);
    if ($row["post_title"] !== "pdo " . ($emulate ? "emulated" : "native") || (int)$row["views"] !== 3) {
        fwrite(STDERR, "pdo row: " . var_export($row, true) . "\n"); exit(1);
    }
    $pdo->beginTransaction();
    $pdo->exec("INSERT INTO posts (post_title) VALUES ('rolled back')");
    $pdo->rollBack();
    try {
        $pdo->query("SELECT * FROM missing_table");
        fwrite(STDERR, "no error for a missing table\n"); exit(1);
    } catch (PDOException $e) {
        if ($e->errorInfo[1] != 1146) { fwrite(STDERR, "error code " . $e->errorInfo[1] . "\n"); exit(1); }
    }
}
$n = $m->query("SELECT COUNT(*) FROM posts WHERE post_title = 'rolled back'")->fetch_row()[0];
if ((int)$n !== 0) { fwrite(STDERR, "rollback kept a row\n"); exit(1); }
echo "php ok\n";
