//! Static checks of the Terraform in `infra/`: every `.tf` file parsed with hcl-edit and held to
//! the project's rules, with no provider and no cloud. With `LAKEHOUSE_TEST_CHECKOV=1`,
//! `scripts/checkov.sh` runs as well and must pass.

// Test code: a failed expectation is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use hcl_edit::expr::{BinaryOperator, Expression, ObjectKey, TraversalOperator};
use hcl_edit::structure::{Block, Body};

/// Actions that take no resource-level permission, so their statements may name `"*"`.
const UNSCOPABLE_ACTIONS: &[&str] = &[
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
    "glue:ListCrawlers",
];

/// Readers in `shared/lambda/src/config.rs` that functions call at cold start: the call as a
/// function's source writes it, and the anchors that lead to its definition there.
const SHARED_READERS: &[(&str, &[&str])] = &[
    ("Lakehouse::from_env(", &["impl Lakehouse", "fn from_env("]),
    ("source_from_env(", &["fn source_from_env("]),
];

// ---------------------------------------------------------------------------------------------
// The configuration
// ---------------------------------------------------------------------------------------------

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate sits in the repository")
        .to_path_buf()
}

/// Every top-level block of every `infra/*.tf` file.
fn infra() -> Vec<Block> {
    let dir = repo().join("infra");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "tf"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "expected the Terraform files in {}", dir.display());
    files
        .iter()
        .flat_map(|path| {
            let text = std::fs::read_to_string(path).unwrap();
            let body = hcl_edit::parser::parse_body(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            body.into_blocks()
        })
        .collect()
}

/// Top-level blocks of one kind (`resource`, `data`, `variable`, ...) whose labels start with
/// `labels`.
fn blocks<'a>(infra: &'a [Block], kind: &str, labels: &[&str]) -> Vec<&'a Block> {
    infra
        .iter()
        .filter(|block| block.ident.as_str() == kind)
        .filter(|block| {
            labels
                .iter()
                .zip(&block.labels)
                .all(|(want, have)| have.as_str() == *want)
        })
        .collect()
}

fn resource<'a>(infra: &'a [Block], kind: &str, name: &str) -> &'a Body {
    let found = blocks(infra, "resource", &[kind, name]);
    assert_eq!(found.len(), 1, "expected one resource {kind}.{name}");
    &found[0].body
}

fn data<'a>(infra: &'a [Block], kind: &str, name: &str) -> &'a Body {
    let found = blocks(infra, "data", &[kind, name]);
    assert_eq!(found.len(), 1, "expected one data source {kind}.{name}");
    &found[0].body
}

fn name(block: &Block) -> String {
    block
        .labels
        .iter()
        .map(|label| label.as_str())
        .collect::<Vec<_>>()
        .join(".")
}

/// A value of a `locals` block.
fn local<'a>(infra: &'a [Block], key: &str) -> &'a Expression {
    blocks(infra, "locals", &[])
        .into_iter()
        .find_map(|block| block.body.get_attribute(key))
        .map(|attribute| &attribute.value)
        .unwrap_or_else(|| panic!("no local.{key}"))
}

/// The value `expr` names when it is a plain `local.<key>`.
fn local_ref<'a>(infra: &'a [Block], expr: &Expression) -> Option<&'a Expression> {
    let Expression::Traversal(traversal) = expr else {
        return None;
    };
    match (&traversal.expr, traversal.operators.as_slice()) {
        (Expression::Variable(root), [key]) if root.as_str() == "local" => match key.value() {
            TraversalOperator::GetAttr(key) => Some(local(infra, key.as_str())),
            _ => None,
        },
        _ => None,
    }
}

/// An attribute's expression as written, e.g. `aws_sqs_queue.landing.arn` or `"JSON"`.
fn text(body: &Body, key: &str) -> String {
    body.get_attribute(key)
        .map(|attribute| attribute.value.to_string().trim().to_owned())
        .unwrap_or_default()
}

fn nested<'a>(body: &'a Body, ident: &'a str) -> &'a Body {
    &body
        .get_blocks(ident)
        .next()
        .unwrap_or_else(|| panic!("no {ident} block"))
        .body
}

fn object_keys(expr: &Expression) -> BTreeSet<String> {
    let Expression::Object(object) = expr else {
        panic!("expected an object, found {expr}");
    };
    object
        .iter()
        .map(|(key, _)| match key {
            ObjectKey::Ident(ident) => ident.as_str().to_owned(),
            ObjectKey::Expression(expr) => unquote(&expr.to_string()),
        })
        .collect()
}

fn unquote(text: &str) -> String {
    text.trim().trim_matches('"').to_owned()
}

/// Every string an expression can produce, as written (templates keep their `${...}`), following
/// `local.*` references: an over-approximation that suits "never this value" checks.
fn strings(infra: &[Block], expr: &Expression) -> Vec<String> {
    let mut found = Vec::new();
    collect_strings(infra, expr, &mut found, 0);
    found
}

fn collect_strings(infra: &[Block], expr: &Expression, found: &mut Vec<String>, depth: usize) {
    assert!(depth < 16, "locals nest too deep at {expr}");
    let inner: Vec<&Expression> = match expr {
        Expression::String(_) | Expression::StringTemplate(_) => {
            found.push(unquote(&expr.to_string()));
            vec![]
        }
        Expression::Array(array) => array.iter().collect(),
        Expression::Object(object) => object.iter().map(|(_, value)| value.expr()).collect(),
        Expression::Parenthesis(parenthesis) => vec![parenthesis.inner()],
        Expression::Conditional(conditional) => vec![&conditional.true_expr, &conditional.false_expr],
        Expression::FuncCall(call) => call.args.iter().collect(),
        Expression::ForExpr(for_expr) => vec![&for_expr.value_expr],
        Expression::Traversal(_) => local_ref(infra, expr).into_iter().collect(),
        _ => vec![],
    };
    for expr in inner {
        collect_strings(infra, expr, found, depth + 1);
    }
}

/// The statement bodies of a policy document, including `dynamic "statement"` contents.
fn statements(document: &Body) -> Vec<&Body> {
    let plain = document.get_blocks("statement").map(|block| &block.body);
    let dynamic = document
        .get_blocks("dynamic")
        .filter(|block| block.labels.first().is_some_and(|label| label.as_str() == "statement"))
        .map(|block| nested(&block.body, "content"));
    plain.chain(dynamic).collect()
}

/// The keys a resource's `for_each` iterates: `local.functions` or another local object.
fn for_each_keys(infra: &[Block], body: &Body) -> BTreeSet<String> {
    let keys = text(body, "for_each");
    let local_name = keys
        .strip_prefix("local.")
        .unwrap_or_else(|| panic!("for_each = {keys}: expected a local"));
    object_keys(local(infra, local_name))
}

/// The crate folders under `functions/`: every one is a function to deploy.
fn expected_functions() -> BTreeSet<String> {
    let dir = repo().join("functions");
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.join("Cargo.toml").is_file())
        .map(|path| path.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// What the functions read at cold start, from their Rust sources
// ---------------------------------------------------------------------------------------------

/// The `.rs` files under `dir`, concatenated, each cut at its `#[cfg(test)]` (the tests module
/// closes a file by convention): what runs in the Lambda, not what its tests set up.
fn rust_sources(dir: &Path) -> String {
    let mut files = vec![dir.to_path_buf()];
    let mut sources = String::new();
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|entry| entry.unwrap().path()));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            sources += text.split("#[cfg(test)]").next().unwrap_or_default();
            sources += "\n";
        }
    }
    sources
}

/// Whether `text` looks like an environment variable's name.
fn is_variable_name(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// Every `X` of `required("X")` in `source` (not of `not_required("X")`).
fn required_literals(source: &str) -> BTreeSet<String> {
    let call = "required(\"";
    source
        .match_indices(call)
        .filter(|(at, _)| !source[..*at].ends_with(|c: char| c.is_alphanumeric() || c == '_'))
        .filter_map(|(at, _)| source[at + call.len()..].split_once('"'))
        .map(|(name, _)| name.to_owned())
        .collect()
}

/// Every `X` of a message `"X is not set"`: a variable read with `optional` that the code then
/// reports missing (notify-slack's `LAKEHOUSE_SLACK_SECRET_ARN` without a local webhook URL).
fn reported_missing(source: &str) -> BTreeSet<String> {
    source
        .match_indices(" is not set\"")
        .filter_map(|(at, _)| source[..at].rsplit_once('"'))
        .map(|(_, name)| name.to_owned())
        .filter(|name| is_variable_name(name))
        .collect()
}

/// The braced body that follows the `anchors`, found one after the other in `source`.
fn body_after<'a>(source: &'a str, anchors: &[&str]) -> &'a str {
    let mut at = 0;
    for anchor in anchors {
        at += source[at..]
            .find(anchor)
            .unwrap_or_else(|| panic!("{anchors:?}: no {anchor}"));
    }
    let open = at + source[at..].find('{').expect("a body");
    let mut depth = 0;
    for (offset, c) in source[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 1 => return &source[open..=open + offset],
            '}' => depth -= 1,
            _ => {}
        }
    }
    panic!("{anchors:?}: unbalanced braces")
}

/// The variables each function's cold start fails without: the `required("…")` in its crate,
/// the variables it reports as "… is not set", and those of the shared readers it calls.
fn required_variables() -> BTreeMap<String, BTreeSet<String>> {
    let config = std::fs::read_to_string(repo().join("shared/lambda/src/config.rs")).unwrap();
    expected_functions()
        .into_iter()
        .map(|function| {
            let source = rust_sources(&repo().join("functions").join(&function).join("src"));
            let mut variables = required_literals(&source);
            variables.extend(reported_missing(&source));
            for (call, definition) in SHARED_READERS {
                if source.contains(call) {
                    variables.extend(required_literals(body_after(&config, definition)));
                }
            }
            (function, variables)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// What Terraform sets on them, evaluated statically
// ---------------------------------------------------------------------------------------------

/// The variables an environment expression surely sets when `bound.0` (the `for` variable) is
/// `bound.1` (a function): `merge` unites its arguments; a condition on the function is decided,
/// one on anything else (`var.*`) keeps what both branches set; whatever comes from input
/// variables (`lookup(var.function_environment, ...)`) or a `for` counts as not set.
fn set_variables(infra: &[Block], expr: &Expression, bound: (&str, &str)) -> BTreeSet<String> {
    match expr {
        Expression::Object(_) => object_keys(expr)
            .into_iter()
            .filter(|key| is_variable_name(key))
            .collect(),
        Expression::Parenthesis(parenthesis) => set_variables(infra, parenthesis.inner(), bound),
        Expression::Traversal(_) => local_ref(infra, expr)
            .map(|value| set_variables(infra, value, bound))
            .unwrap_or_default(),
        Expression::FuncCall(call) if call.name.name.as_str() == "merge" => call
            .args
            .iter()
            .flat_map(|arg| set_variables(infra, arg, bound))
            .collect(),
        Expression::Conditional(conditional) => {
            let when_true = || set_variables(infra, &conditional.true_expr, bound);
            let when_false = || set_variables(infra, &conditional.false_expr, bound);
            match decide(infra, &conditional.cond_expr, bound) {
                Some(true) => when_true(),
                Some(false) => when_false(),
                None => when_true().intersection(&when_false()).cloned().collect(),
            }
        }
        _ => BTreeSet::new(),
    }
}

/// A condition on the bound function: `==`, `!=` and `contains(<list>, ...)`; `None` otherwise.
fn decide(infra: &[Block], expr: &Expression, bound: (&str, &str)) -> Option<bool> {
    match expr {
        Expression::Bool(value) => Some(*value.value()),
        Expression::Parenthesis(parenthesis) => decide(infra, parenthesis.inner(), bound),
        Expression::BinaryOp(op) => {
            let (lhs, rhs) = (string(&op.lhs_expr, bound)?, string(&op.rhs_expr, bound)?);
            match op.operator.value() {
                BinaryOperator::Eq => Some(lhs == rhs),
                BinaryOperator::NotEq => Some(lhs != rhs),
                _ => None,
            }
        }
        Expression::FuncCall(call) if call.name.name.as_str() == "contains" => {
            let list = strings_of(infra, call.args.get(0)?, bound)?;
            let item = string(call.args.get(1)?, bound)?;
            Some(list.contains(&item))
        }
        _ => None,
    }
}

/// A string literal, or the bound variable's value.
fn string(expr: &Expression, bound: (&str, &str)) -> Option<String> {
    match expr {
        Expression::String(value) => Some(value.value().clone()),
        Expression::Variable(variable) if variable.as_str() == bound.0 => Some(bound.1.to_owned()),
        _ => None,
    }
}

/// A list of strings, written out or in a local.
fn strings_of(infra: &[Block], expr: &Expression, bound: (&str, &str)) -> Option<Vec<String>> {
    match expr {
        Expression::Array(array) => array.iter().map(|item| string(item, bound)).collect(),
        Expression::Traversal(_) => strings_of(infra, local_ref(infra, expr)?, bound),
        _ => None,
    }
}

/// The variables `local.function_environment` (`{ for name in ... : name => ... }`) surely sets
/// on `function`.
fn terraform_environment(infra: &[Block], function: &str) -> BTreeSet<String> {
    let Expression::ForExpr(for_expr) = local(infra, "function_environment") else {
        panic!("local.function_environment: expected a for expression");
    };
    let var = for_expr.intro.value_var.as_str();
    assert_eq!(
        for_expr.key_expr.as_ref().map(|key| key.to_string().trim().to_owned()),
        Some(var.to_owned()),
        "local.function_environment: keyed by the function"
    );
    set_variables(infra, &for_expr.value_expr, (var, function))
}

// ---------------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------------

#[test]
fn every_variable_has_a_type_and_a_description() {
    let infra = infra();
    let variables = blocks(&infra, "variable", &[]);
    assert!(!variables.is_empty());
    for variable in variables {
        assert!(
            variable.body.has_attribute("type"),
            "variable {} has no type",
            name(variable)
        );
        assert!(
            unquote(&text(&variable.body, "description")).len() > 10,
            "variable {} has no description",
            name(variable)
        );
    }
}

#[test]
fn every_output_has_a_description() {
    let infra = infra();
    let outputs = blocks(&infra, "output", &[]);
    assert!(!outputs.is_empty());
    for output in outputs {
        assert!(
            unquote(&text(&output.body, "description")).len() > 10,
            "output {} has no description",
            name(output)
        );
    }
}

#[test]
fn every_function_is_deployed_from_its_zip_as_an_arm64_rust_lambda() {
    let infra = infra();
    let declared = object_keys(local(&infra, "functions"));
    assert_eq!(
        declared,
        expected_functions(),
        "local.functions must list every function"
    );

    let lambdas = blocks(&infra, "resource", &["aws_lambda_function"]);
    assert_eq!(lambdas.len(), 1, "every function goes through aws_lambda_function.this");
    let lambda = resource(&infra, "aws_lambda_function", "this");
    assert_eq!(text(lambda, "for_each"), "local.functions");
    assert_eq!(text(lambda, "runtime"), "\"provided.al2023\"");
    assert_eq!(text(lambda, "handler"), "\"bootstrap\"");
    assert_eq!(text(lambda, "architectures"), "[\"arm64\"]");
    assert_eq!(text(nested(lambda, "logging_config"), "log_format"), "\"JSON\"");
    assert_eq!(text(nested(lambda, "tracing_config"), "mode"), "\"Active\"");
    assert!(
        lambda.has_blocks("dead_letter_config"),
        "functions need a dead-letter queue"
    );

    // The code: the cargo-lambda zip, uploaded to S3 first.
    assert_eq!(text(lambda, "s3_key"), "aws_s3_object.function_zip[each.key].key");
    let upload = resource(&infra, "aws_s3_object", "function_zip");
    assert_eq!(text(upload, "source"), "local.function_zips[each.key]");
    let zips = local(&infra, "function_zips").to_string();
    assert!(
        zips.contains("\"${var.lambda_dist_dir}/${name}/bootstrap.zip\""),
        "zip path: {zips}"
    );
    let dist_dir = blocks(&infra, "variable", &["lambda_dist_dir"]);
    assert_eq!(text(&dist_dir[0].body, "default"), "\"../target/lambda-arm64\"");
}

#[test]
fn each_function_has_its_own_role() {
    let infra = infra();
    let lambda = resource(&infra, "aws_lambda_function", "this");
    assert_eq!(text(lambda, "role"), "aws_iam_role.function[each.key].arn");
    assert_eq!(
        text(resource(&infra, "aws_iam_role", "function"), "for_each"),
        "local.functions"
    );

    // Every policy on a function role is that function's own, and each function has them all.
    let functions = expected_functions();
    for policy in blocks(&infra, "resource", &["aws_iam_role_policy"]) {
        let role = text(&policy.body, "role");
        if role.starts_with("aws_iam_role.function[") {
            assert_eq!(role, "aws_iam_role.function[each.key].id", "{}", name(policy));
            let covered = for_each_keys(&infra, &policy.body);
            assert_eq!(covered, functions, "{} must cover every function", name(policy));
        }
    }
}

#[test]
fn no_policy_allows_wildcards_beyond_the_unscopable_actions() {
    let infra = infra();
    // Role policies come from policy documents, so the check below sees every statement.
    for policy in blocks(&infra, "resource", &["aws_iam_role_policy"]) {
        let document = text(&policy.body, "policy");
        assert!(
            document.starts_with("data.aws_iam_policy_document."),
            "{}: {document}",
            name(policy)
        );
    }

    let mut checked = 0;
    for document in blocks(&infra, "data", &["aws_iam_policy_document"]) {
        for statement in statements(&document.body) {
            if text(statement, "effect") == "\"Deny\"" {
                continue;
            }
            let Some(actions) = statement.get_attribute("actions") else {
                continue;
            };
            let actions = strings(&infra, &actions.value);
            let resources = statement
                .get_attribute("resources")
                .map(|resources| strings(&infra, &resources.value))
                .unwrap_or_default();
            for action in &actions {
                assert!(!action.contains('*'), "{}: wildcard action {action}", name(document));
            }
            if resources.iter().any(|resource| resource == "*") {
                for action in &actions {
                    assert!(
                        UNSCOPABLE_ACTIONS.contains(&action.as_str()),
                        "{}: {action} on resource \"*\"",
                        name(document)
                    );
                }
            }
            checked += 1;
        }
    }
    assert!(checked > 20, "only {checked} statements checked");
}

#[test]
fn landing_files_notify_a_queue_with_a_dead_letter_queue_that_drives_write_bronze() {
    let infra = infra();
    let notification = resource(&infra, "aws_s3_bucket_notification", "landing");
    let queue = nested(notification, "queue");
    assert_eq!(text(queue, "queue_arn"), "aws_sqs_queue.landing.arn");
    assert!(text(queue, "filter_prefix").contains("landing"));
    assert_eq!(text(queue, "filter_suffix"), "\".parquet\"");
    assert_eq!(text(queue, "events"), "[\"s3:ObjectCreated:*\"]");

    let landing = resource(&infra, "aws_sqs_queue", "landing");
    let redrive = text(landing, "redrive_policy");
    assert!(redrive.contains("deadLetterTargetArn") && redrive.contains("aws_sqs_queue.landing_dlq.arn"));
    resource(&infra, "aws_sqs_queue", "landing_dlq");

    let trigger = resource(&infra, "aws_lambda_event_source_mapping", "landing");
    assert_eq!(text(trigger, "event_source_arn"), "aws_sqs_queue.landing.arn");
    assert!(text(trigger, "function_name").contains("\"write-bronze\""));
    assert_eq!(
        text(trigger, "function_response_types"),
        "[\"ReportBatchItemFailures\"]"
    );
}

#[test]
fn the_database_is_encrypted_private_and_requires_tls() {
    let infra = infra();
    let db = resource(&infra, "aws_db_instance", "source");
    assert_eq!(text(db, "storage_encrypted"), "true");
    assert_eq!(text(db, "publicly_accessible"), "false");
    assert_eq!(text(db, "manage_master_user_password"), "true");
    assert!(!db.has_attribute("password"), "the password belongs to Secrets Manager");
    assert_eq!(text(db, "deletion_protection"), "var.rds_deletion_protection");

    let parameters = resource(&infra, "aws_db_parameter_group", "source");
    let tls = parameters
        .get_blocks("parameter")
        .find(|p| text(&p.body, "name") == "\"require_secure_transport\"")
        .expect("require_secure_transport is set");
    assert!(["\"1\"", "\"ON\""].contains(&text(&tls.body, "value").as_str()));

    let url = local(&infra, "source_url").to_string();
    assert!(url.contains("ssl-mode=REQUIRED") && !url.contains("password"), "{url}");
}

#[test]
fn every_bucket_is_private_encrypted_versioned_and_tls_only() {
    let infra = infra();
    let buckets = blocks(&infra, "resource", &["aws_s3_bucket"]);
    assert!(!buckets.is_empty());
    for bucket in buckets {
        let bucket_name = bucket.labels[1].as_str();
        for companion in [
            "aws_s3_bucket_public_access_block",
            "aws_s3_bucket_versioning",
            "aws_s3_bucket_server_side_encryption_configuration",
            "aws_s3_bucket_lifecycle_configuration",
            "aws_s3_bucket_policy",
        ] {
            resource(&infra, companion, bucket_name);
        }
        let policy = text(resource(&infra, "aws_s3_bucket_policy", bucket_name), "policy");
        let document = policy
            .trim_start_matches("data.aws_iam_policy_document.")
            .split(['[', '.'])
            .next()
            .unwrap();
        let denies_insecure_transport = statements(data(&infra, "aws_iam_policy_document", document))
            .into_iter()
            .any(|statement| {
                text(statement, "effect") == "\"Deny\""
                    && statement.get_blocks("condition").any(|condition| {
                        text(&condition.body, "variable") == "\"aws:SecureTransport\""
                            && text(&condition.body, "values") == "[\"false\"]"
                    })
            });
        assert!(denies_insecure_transport, "bucket {bucket_name}: no TLS-only policy");
    }
}

#[test]
fn functions_get_the_variables_and_layout_the_rust_side_reads() {
    let infra = infra();
    let environment = local(&infra, "function_environment").to_string()
        + &local(&infra, "lake_environment").to_string()
        + &local(&infra, "source_environment").to_string();
    for variable in [
        "LAKEHOUSE_METRICS_NAMESPACE",
        "LAKEHOUSE_LAKE",
        "LAKEHOUSE_${upper(layer)}_ROOT",
        "LAKEHOUSE_SOURCE_URL",
        "LAKEHOUSE_DB_SECRET_ARN",
        "LAKEHOUSE_GLUE_DATABASE_PREFIX",
        "LAKEHOUSE_GLUE_CRAWLER",
        "LAKEHOUSE_SLACK_SECRET_ARN",
    ] {
        assert!(
            environment.contains(variable),
            "no {variable} in the functions' environment"
        );
    }
    // Layer keys become LAKEHOUSE_<KEY>_ROOT; values are the folder names `Layer::name` uses.
    let layers = local(&infra, "layer_prefixes").to_string().replace(' ', "");
    for (layer, folder) in [
        ("landing", "landing"),
        ("bronze", "bronze"),
        ("silver", "silver"),
        ("gold", "gold"),
        ("quarantine", "quarantine"),
        ("state", "_state"),
    ] {
        assert!(
            layers.contains(&format!("{layer}=\"{folder}\"")),
            "layer {layer}: {layers}"
        );
    }
}

#[test]
fn every_environment_variable_a_function_reads_at_cold_start_is_set_on_it() {
    let infra = infra();
    let lambda = resource(&infra, "aws_lambda_function", "this");
    assert_eq!(
        text(nested(lambda, "environment"), "variables"),
        "local.function_environment[each.key]"
    );

    let required = required_variables();
    // The scan sees what the sources say: extract-rds reads the lake and the source.
    for variable in ["LAKEHOUSE_LAKE", "LAKEHOUSE_SOURCE_URL"] {
        assert!(required["extract-rds"].contains(variable), "scan: {required:?}");
    }
    let mut missing = Vec::new();
    for (function, variables) in &required {
        let set = terraform_environment(&infra, function);
        assert!(
            set.contains("LAKEHOUSE_METRICS_NAMESPACE"),
            "{function}: evaluated environment {set:?}"
        );
        missing.extend(
            variables
                .difference(&set)
                .map(|variable| format!("{function} needs {variable}")),
        );
    }
    assert!(
        missing.is_empty(),
        "not set in infra/functions.tf's local.function_environment: {}",
        missing.join(", ")
    );
}

#[test]
fn every_function_has_a_log_group_with_retention_and_an_alarm_on_errors() {
    let infra = infra();
    let functions = expected_functions();

    // Each function logs to its own group, which keeps events for a set number of days.
    let lambda = resource(&infra, "aws_lambda_function", "this");
    assert_eq!(
        text(nested(lambda, "logging_config"), "log_group"),
        "aws_cloudwatch_log_group.function[each.key].name"
    );
    let group = resource(&infra, "aws_cloudwatch_log_group", "function");
    assert_eq!(for_each_keys(&infra, group), functions, "a log group per function");
    let retention = text(group, "retention_in_days");
    let days = match retention.strip_prefix("var.") {
        Some(variable) => text(&blocks(&infra, "variable", &[variable])[0].body, "default"),
        None => retention.clone(),
    };
    assert!(
        days.parse::<u32>().is_ok_and(|days| days > 0),
        "log groups: retention_in_days = {retention} ({days})"
    );

    // An alarm on AWS/Lambda Errors for every function, acting on the alerts topic.
    let mut watched = BTreeSet::new();
    for alarm in blocks(&infra, "resource", &["aws_cloudwatch_metric_alarm"]) {
        let body = &alarm.body;
        if text(body, "namespace") != "\"AWS/Lambda\"" || text(body, "metric_name") != "\"Errors\"" {
            continue;
        }
        assert_eq!(
            text(body, "dimensions"),
            "{ FunctionName = aws_lambda_function.this[each.key].function_name }",
            "{}",
            name(alarm)
        );
        assert_eq!(
            text(body, "alarm_actions"),
            "[aws_sns_topic.alerts.arn]",
            "{}",
            name(alarm)
        );
        watched.extend(for_each_keys(&infra, body));
    }
    let unwatched: Vec<_> = functions.difference(&watched).collect();
    assert!(unwatched.is_empty(), "no alarm on Errors for {unwatched:?}");
}

#[test]
fn alarms_watch_quarantine_freshness_and_dead_letters() {
    let infra = infra();
    let quarantined = resource(&infra, "aws_cloudwatch_metric_alarm", "quarantined");
    assert_eq!(text(quarantined, "metric_name"), "each.value");
    assert_eq!(text(quarantined, "namespace"), "var.metrics_namespace");
    assert_eq!(text(quarantined, "dimensions"), "{ Function = each.key }");
    let metrics = local(&infra, "quarantine_metrics").to_string().replace(' ', "");
    assert!(metrics.contains("write-silver=\"RowsQuarantined\""), "{metrics}");

    let freshness = resource(&infra, "aws_cloudwatch_metric_alarm", "gold_freshness");
    assert_eq!(text(freshness, "metric_name"), "\"FreshnessSeconds\"");
    assert!(text(freshness, "dimensions").contains("\"write-gold\""));

    let dead_letters = resource(&infra, "aws_cloudwatch_metric_alarm", "dead_letters");
    assert_eq!(
        text(dead_letters, "metric_name"),
        "\"ApproximateNumberOfMessagesVisible\""
    );
    assert!(
        local(&infra, "dead_letter_queues")
            .to_string()
            .contains("aws_sqs_queue.landing_dlq.name")
    );
}

#[test]
fn checkov_passes_when_asked() {
    if std::env::var("LAKEHOUSE_TEST_CHECKOV").as_deref() != Ok("1") {
        eprintln!("checkov not run: set LAKEHOUSE_TEST_CHECKOV=1");
        return;
    }
    let output = Command::new(repo().join("scripts/checkov.sh"))
        .output()
        .expect("scripts/checkov.sh runs");
    assert!(
        output.status.success(),
        "checkov failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
