//! The `sync-catalog` Lambda function.

use lambda_runtime::Error;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lakehouse_lambda::init_logging();
    let lakehouse = lakehouse_lambda::Lakehouse::from_env()?;
    let catalog = sync_catalog::Catalog::from_env(&lakehouse_lambda::aws().await)?;
    lakehouse_lambda::serve(sync_catalog::metrics(), |event| {
        sync_catalog::function_handler(event, &lakehouse, &catalog)
    })
    .await
}
