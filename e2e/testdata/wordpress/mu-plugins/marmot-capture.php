<?php
// Records every query WordPress sent (SAVEQUERIES) and every database error,
// including suppressed ones, one JSON object per line in $WP_QUERY_LOG.
register_shutdown_function(function () {
    global $wpdb, $EZSQL_ERROR;
    $file = getenv('WP_QUERY_LOG');
    if (!$file || !isset($wpdb)) {
        return;
    }
    $uri = isset($_SERVER['REQUEST_URI']) ? $_SERVER['REQUEST_URI'] : '';
    $lines = '';
    foreach ((array) $wpdb->queries as $q) {
        $lines .= json_encode(array('uri' => $uri, 'query' => $q[0])) . "\n";
    }
    foreach ((array) $EZSQL_ERROR as $e) {
        $lines .= json_encode(array('uri' => $uri, 'query' => $e['query'], 'error' => $e['error_str'])) . "\n";
    }
    file_put_contents($file, $lines, FILE_APPEND | LOCK_EX);
});
