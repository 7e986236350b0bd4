-- shelfops install script, assembled by make from sql/install/*.sql in name order.
-- Do not edit the assembled sql/shelfops--<version>.sql; edit the parts.

\echo Use "CREATE EXTENSION shelfops" to load this file. \quit
