-- One row per UTC day with at least one non-cancelled order.
SELECT CAST(o.ordered_at AS DATE)                                              AS order_date,
       COUNT(DISTINCT o.id)                                                    AS orders,
       CAST(COALESCE(SUM(i.quantity), 0) AS BIGINT)                            AS items,
       CAST(COALESCE(SUM(i.quantity * i.unit_price), 0) AS DECIMAL(18, 2))     AS revenue,
       COUNT(DISTINCT o.customer_id)                                           AS customers
FROM silver.orders o
LEFT JOIN silver.order_items i ON i.order_id = o.id
WHERE o.status <> 'cancelled'
GROUP BY CAST(o.ordered_at AS DATE)
