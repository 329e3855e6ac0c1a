-- contract/reference.sql ported to SQLite, for the SQLite source's equality tests.
-- Same rules and the same rows; decimals are rendered as exact two-decimal text (money summed in
-- integer cents) so that they compare as text with the lake's exact decimals.

DROP VIEW IF EXISTS ref_silver_customers;
CREATE VIEW ref_silver_customers AS
  SELECT id, email, full_name, country, created_at, updated_at
  FROM customers
  WHERE deleted_at IS NULL
    AND email LIKE '%_@_%'
    AND country GLOB '[A-Z][A-Z]';

DROP VIEW IF EXISTS ref_silver_products;
CREATE VIEW ref_silver_products AS
  SELECT id, sku, name, category, printf('%.2f', unit_price) AS unit_price, created_at, updated_at,
         CAST(ROUND(unit_price * 100) AS INTEGER) AS unit_cents
  FROM products
  WHERE deleted_at IS NULL
    AND unit_price >= 0
    AND TRIM(category) <> '';

DROP VIEW IF EXISTS ref_silver_orders;
CREATE VIEW ref_silver_orders AS
  SELECT id, customer_id, status, ordered_at, created_at, updated_at
  FROM orders
  WHERE deleted_at IS NULL
    AND status IN ('placed', 'paid', 'shipped', 'delivered', 'cancelled');

DROP VIEW IF EXISTS ref_silver_order_items;
CREATE VIEW ref_silver_order_items AS
  SELECT id, order_id, product_id, quantity, printf('%.2f', unit_price) AS unit_price, created_at, updated_at,
         CAST(ROUND(unit_price * 100) AS INTEGER) AS unit_cents
  FROM order_items
  WHERE deleted_at IS NULL
    AND quantity > 0
    AND unit_price >= 0;

DROP VIEW IF EXISTS ref_gold_daily_sales;
CREATE VIEW ref_gold_daily_sales AS
  SELECT DATE(o.ordered_at)                                               AS order_date,
         COUNT(DISTINCT o.id)                                             AS orders,
         COALESCE(SUM(i.quantity), 0)                                     AS items,
         printf('%.2f', COALESCE(SUM(i.quantity * i.unit_cents), 0) / 100.0) AS revenue,
         COUNT(DISTINCT o.customer_id)                                    AS customers
  FROM ref_silver_orders o
  LEFT JOIN ref_silver_order_items i ON i.order_id = o.id
  WHERE o.status <> 'cancelled'
  GROUP BY DATE(o.ordered_at);

DROP VIEW IF EXISTS ref_gold_customer_ltv;
CREATE VIEW ref_gold_customer_ltv AS
  SELECT c.id                                                             AS customer_id,
         c.country                                                        AS country,
         COUNT(DISTINCT s.order_id)                                       AS orders,
         printf('%.2f', COALESCE(SUM(s.quantity * s.unit_cents), 0) / 100.0) AS lifetime_value,
         MIN(s.ordered_at)                                                AS first_order_at,
         MAX(s.ordered_at)                                                AS last_order_at
  FROM ref_silver_customers c
  LEFT JOIN (
    SELECT o.id AS order_id, o.customer_id, o.ordered_at, i.quantity, i.unit_cents
    FROM ref_silver_orders o
    LEFT JOIN ref_silver_order_items i ON i.order_id = o.id
    WHERE o.status <> 'cancelled'
  ) s ON s.customer_id = c.id
  GROUP BY c.id, c.country;

DROP VIEW IF EXISTS ref_gold_product_sales;
CREATE VIEW ref_gold_product_sales AS
  SELECT p.id                                                             AS product_id,
         p.category                                                       AS category,
         COALESCE(SUM(s.quantity), 0)                                     AS units,
         printf('%.2f', COALESCE(SUM(s.quantity * s.unit_cents), 0) / 100.0) AS revenue,
         COUNT(DISTINCT s.order_id)                                       AS orders
  FROM ref_silver_products p
  LEFT JOIN (
    SELECT i.product_id, i.order_id, i.quantity, i.unit_cents
    FROM ref_silver_order_items i
    JOIN ref_silver_orders o ON o.id = i.order_id
    WHERE o.status <> 'cancelled'
  ) s ON s.product_id = p.id
  GROUP BY p.id, p.category;
