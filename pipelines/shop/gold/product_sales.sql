-- One row per Silver product, products never sold included.
SELECT p.id                                                                    AS product_id,
       p.category                                                              AS category,
       CAST(COALESCE(SUM(s.quantity), 0) AS BIGINT)                            AS units,
       CAST(COALESCE(SUM(s.quantity * s.unit_price), 0) AS DECIMAL(18, 2))     AS revenue,
       COUNT(DISTINCT s.order_id)                                              AS orders
FROM silver.products p
LEFT JOIN (
  SELECT i.product_id, i.order_id, i.quantity, i.unit_price
  FROM silver.order_items i
  JOIN silver.orders o ON o.id = i.order_id
  WHERE o.status <> 'cancelled'
) s ON s.product_id = p.id
GROUP BY p.id, p.category
