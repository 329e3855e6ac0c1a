//! The `maintain-tables` Lambda function.

use lambda_runtime::Error;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lakehouse_lambda::init_logging();
    let lakehouse = lakehouse_lambda::Lakehouse::from_env()?;
    let options = maintain_tables::options_from_env()?;
    lakehouse_lambda::serve(maintain_tables::metrics(), |event| {
        maintain_tables::function_handler(event, &lakehouse, options)
    })
    .await
}
