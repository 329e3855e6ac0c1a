-- The contract's source schema (contract/source_schema.sql) in SQLite's dialect.
-- Times are TEXT in UTC, 'YYYY-MM-DD HH:MM:SS.SSS', so that text order is time order.
-- Decimals are declared DECIMAL(p,s) for the type mapping; SQLite keeps them as numbers.
-- Triggers move updated_at forward on changes that do not set it, like MySQL's ON UPDATE.

CREATE TABLE IF NOT EXISTS customers (
  id          INTEGER      NOT NULL PRIMARY KEY,
  email       VARCHAR(255) NOT NULL UNIQUE,
  full_name   VARCHAR(200) NOT NULL,
  country     CHAR(2)      NOT NULL,
  created_at  DATETIME(3)  NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),
  updated_at  DATETIME(3)  NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),
  deleted_at  DATETIME(3)  NULL
);
CREATE INDEX IF NOT EXISTS ix_customers_updated ON customers (updated_at, id);
CREATE TRIGGER IF NOT EXISTS customers_touch AFTER UPDATE ON customers
  FOR EACH ROW WHEN NEW.updated_at = OLD.updated_at
  BEGIN UPDATE customers SET updated_at = strftime('%Y-%m-%d %H:%M:%f', 'now') WHERE id = NEW.id; END;

CREATE TABLE IF NOT EXISTS products (
  id          INTEGER       NOT NULL PRIMARY KEY,
  sku         VARCHAR(64)   NOT NULL UNIQUE,
  name        VARCHAR(200)  NOT NULL,
  category    VARCHAR(64)   NOT NULL,
  unit_price  DECIMAL(10,2) NOT NULL,
  created_at  DATETIME(3)   NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),
  updated_at  DATETIME(3)   NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),
  deleted_at  DATETIME(3)   NULL
);
CREATE INDEX IF NOT EXISTS ix_products_updated ON products (updated_at, id);
CREATE TRIGGER IF NOT EXISTS products_touch AFTER UPDATE ON products
  FOR EACH ROW WHEN NEW.updated_at = OLD.updated_at
  BEGIN UPDATE products SET updated_at = strftime('%Y-%m-%d %H:%M:%f', 'now') WHERE id = NEW.id; END;

CREATE TABLE IF NOT EXISTS orders (
  id          INTEGER      NOT NULL PRIMARY KEY,
  customer_id BIGINT       NOT NULL,
  status      VARCHAR(16)  NOT NULL,
  ordered_at  DATETIME(3)  NOT NULL,
  created_at  DATETIME(3)  NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),
  updated_at  DATETIME(3)  NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),
  deleted_at  DATETIME(3)  NULL
);
CREATE INDEX IF NOT EXISTS ix_orders_updated ON orders (updated_at, id);
CREATE INDEX IF NOT EXISTS ix_orders_customer ON orders (customer_id);
CREATE TRIGGER IF NOT EXISTS orders_touch AFTER UPDATE ON orders
  FOR EACH ROW WHEN NEW.updated_at = OLD.updated_at
  BEGIN UPDATE orders SET updated_at = strftime('%Y-%m-%d %H:%M:%f', 'now') WHERE id = NEW.id; END;

CREATE TABLE IF NOT EXISTS order_items (
  id          INTEGER       NOT NULL PRIMARY KEY,
  order_id    BIGINT        NOT NULL,
  product_id  BIGINT        NOT NULL,
  quantity    INT           NOT NULL,
  unit_price  DECIMAL(10,2) NOT NULL,
  created_at  DATETIME(3)   NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),
  updated_at  DATETIME(3)   NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),
  deleted_at  DATETIME(3)   NULL
);
CREATE INDEX IF NOT EXISTS ix_items_updated ON order_items (updated_at, id);
CREATE INDEX IF NOT EXISTS ix_items_order ON order_items (order_id);
CREATE TRIGGER IF NOT EXISTS order_items_touch AFTER UPDATE ON order_items
  FOR EACH ROW WHEN NEW.updated_at = OLD.updated_at
  BEGIN UPDATE order_items SET updated_at = strftime('%Y-%m-%d %H:%M:%f', 'now') WHERE id = NEW.id; END;
