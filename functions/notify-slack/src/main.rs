//! The `notify-slack` Lambda function.

use lambda_runtime::Error;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lakehouse_lambda::init_logging();
    let notifier = notify_slack::notifier_from_env(&lakehouse_lambda::aws().await).await?;
    lakehouse_lambda::serve(notify_slack::metrics(), |event| {
        notify_slack::function_handler(event, &notifier)
    })
    .await
}
