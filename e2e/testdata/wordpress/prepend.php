<?php
// auto_prepend_file of the test's `php -S`: the docroot is a symlink farm
// over /usr/share/wordpress, and PHP resolves symlinks in __DIR__, so
// wp-load.php would otherwise find Debian's /usr/share/wordpress/wp-config.php
// (which reads /etc/wordpress). Fixing ABSPATH to the docroot makes WordPress
// load the test's wp-config.php and every file through the farm.
define('ABSPATH', getenv('WP_ABSPATH'));
