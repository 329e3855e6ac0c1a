//! The `write-gold` Lambda function.

use lambda_runtime::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lakehouse_lambda::init_logging();
    let lakehouse = lakehouse_lambda::Lakehouse::from_env()?;
    run(service_fn(|event| write_gold::function_handler(event, &lakehouse))).await
}
