//! The `seed-rds` Lambda function.

use lambda_runtime::Error;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lakehouse_lambda::init_logging();
    let settings = seed_rds::Settings::from_env(&lakehouse_lambda::aws().await).await?;
    lakehouse_lambda::serve(seed_rds::metrics(), |event| {
        seed_rds::function_handler(event, &settings)
    })
    .await
}
