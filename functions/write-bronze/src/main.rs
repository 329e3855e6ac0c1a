//! The `write-bronze` Lambda function.

use lambda_runtime::Error;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lakehouse_lambda::init_logging();
    let lakehouse = lakehouse_lambda::Lakehouse::from_env()?;
    lakehouse_lambda::serve(write_bronze::metrics(), |event| {
        write_bronze::function_handler(event, &lakehouse)
    })
    .await
}
