-- One row per Silver customer, customers without orders included.
SELECT c.id                                                                    AS customer_id,
       c.country                                                               AS country,
       COUNT(DISTINCT s.order_id)                                              AS orders,
       CAST(COALESCE(SUM(s.quantity * s.unit_price), 0) AS DECIMAL(18, 2))     AS lifetime_value,
       MIN(s.ordered_at)                                                       AS first_order_at,
       MAX(s.ordered_at)                                                       AS last_order_at
FROM silver.customers c
LEFT JOIN (
  SELECT o.id AS order_id, o.customer_id, o.ordered_at, i.quantity, i.unit_price
  FROM silver.orders o
  LEFT JOIN silver.order_items i ON i.order_id = o.id
  WHERE o.status <> 'cancelled'
) s ON s.customer_id = c.id
GROUP BY c.id, c.country
