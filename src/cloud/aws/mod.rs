//! The real backend: the seven cloud ports over aws-sdk-*, built from one shared `SdkConfig`.
//!
//! Each port call is exactly one SDK call with exactly one attempt: trimtab's executor owns
//! retries, backoff and rate limiting and counts every attempt, so SDK-internal retries would
//! hide calls from it (and from the quota it budgets). SDK types never leave this module; every
//! failure becomes a [`crate::cloud::CloudError`] (see `error`).

mod autoscaling;
mod cloudwatch;
mod dynamodb;
mod error;
mod events;
mod lambda;
mod lambda_policy;
mod sns;
mod tagging;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{AppName, BehaviorVersion, Region, SdkConfig};

use crate::cloud::{Cloud, CloudError, ErrorKind, Op};
use crate::model::CloudSettings;

pub(crate) use autoscaling::AwsAutoScaling;
pub(crate) use cloudwatch::AwsCloudWatch;
pub(crate) use dynamodb::AwsDynamoDb;
pub(crate) use events::AwsEvents;
pub(crate) use lambda::AwsLambda;
pub(crate) use sns::AwsSns;
pub(crate) use tagging::AwsTagging;

/// Why the AWS backend could not be set up. Nothing here touches the network: credentials are
/// resolved lazily by the SDK on the first call, and a failure then is a `CloudError`.
#[derive(Debug, thiserror::Error)]
pub enum AwsSetupError {
    #[error("cloud.region is empty; the AWS backend needs a region")]
    EmptyRegion,
    #[error("endpoint URL {url:?} for {service} is not an http:// or https:// URL")]
    InvalidEndpoint { service: &'static str, url: String },
}

/// Per-service endpoints that win over `CloudSettings::endpoint_url`. Emulators need this when
/// one service must be reached through a different address from the others (the test harness
/// puts a protocol bridge in front of moto for CloudWatch only).
///
/// Precedence for each service, highest first: this override; `CloudSettings::endpoint_url`;
/// `AWS_ENDPOINT_URL_<SERVICE>`; `AWS_ENDPOINT_URL`; AWS's own endpoint. Note that aws-config
/// lets an explicitly configured endpoint beat the per-service environment variables, which is
/// why this struct exists rather than relying on `AWS_ENDPOINT_URL_CLOUDWATCH` alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointOverrides {
    pub cloudwatch: Option<String>,
    pub lambda: Option<String>,
    pub autoscaling: Option<String>,
    pub events: Option<String>,
    pub dynamodb: Option<String>,
    pub sns: Option<String>,
    pub tagging: Option<String>,
}

/// Builds the AWS backend from the standard credential chain (environment, profile, ECS task
/// role, instance profile), the settings' region, and the settings' endpoint when set.
pub async fn connect(settings: &CloudSettings) -> Result<Cloud, AwsSetupError> {
    connect_with(settings, &EndpointOverrides::default()).await
}

/// [`connect`], with per-service endpoint overrides.
pub async fn connect_with(
    settings: &CloudSettings,
    overrides: &EndpointOverrides,
) -> Result<Cloud, AwsSetupError> {
    let sdk = load_sdk_config(settings).await?;
    for (service, url) in [
        ("cloudwatch", &overrides.cloudwatch),
        ("lambda", &overrides.lambda),
        ("autoscaling", &overrides.autoscaling),
        ("events", &overrides.events),
        ("dynamodb", &overrides.dynamodb),
        ("sns", &overrides.sns),
        ("tagging", &overrides.tagging),
    ] {
        if let Some(url) = url {
            validate_endpoint(service, url)?;
        }
    }

    // `From<&SdkConfig>` has already resolved the settings' or environment's endpoint per
    // service; an override replaces it only when present.
    let mut cw = aws_sdk_cloudwatch::config::Builder::from(&sdk);
    let mut lambda = aws_sdk_lambda::config::Builder::from(&sdk);
    let mut aas = aws_sdk_applicationautoscaling::config::Builder::from(&sdk);
    let mut events = aws_sdk_eventbridge::config::Builder::from(&sdk);
    let mut ddb = aws_sdk_dynamodb::config::Builder::from(&sdk);
    let mut sns = aws_sdk_sns::config::Builder::from(&sdk);
    let mut tagging = aws_sdk_resourcegroupstagging::config::Builder::from(&sdk);
    if let Some(url) = &overrides.cloudwatch {
        cw.set_endpoint_url(Some(url.clone()));
    }
    if let Some(url) = &overrides.lambda {
        lambda.set_endpoint_url(Some(url.clone()));
    }
    if let Some(url) = &overrides.autoscaling {
        aas.set_endpoint_url(Some(url.clone()));
    }
    if let Some(url) = &overrides.events {
        events.set_endpoint_url(Some(url.clone()));
    }
    if let Some(url) = &overrides.dynamodb {
        ddb.set_endpoint_url(Some(url.clone()));
    }
    if let Some(url) = &overrides.sns {
        sns.set_endpoint_url(Some(url.clone()));
    }
    if let Some(url) = &overrides.tagging {
        tagging.set_endpoint_url(Some(url.clone()));
    }

    Ok(Cloud {
        cloudwatch: Arc::new(AwsCloudWatch::new(aws_sdk_cloudwatch::Client::from_conf(
            cw.build(),
        ))),
        lambda: Arc::new(AwsLambda::new(aws_sdk_lambda::Client::from_conf(
            lambda.build(),
        ))),
        autoscaling: Arc::new(AwsAutoScaling::new(
            aws_sdk_applicationautoscaling::Client::from_conf(aas.build()),
        )),
        events: Arc::new(AwsEvents::new(aws_sdk_eventbridge::Client::from_conf(
            events.build(),
        ))),
        dynamodb: Arc::new(AwsDynamoDb::new(aws_sdk_dynamodb::Client::from_conf(
            ddb.build(),
        ))),
        sns: Arc::new(AwsSns::new(aws_sdk_sns::Client::from_conf(sns.build()))),
        tagging: Arc::new(AwsTagging::new(
            aws_sdk_resourcegroupstagging::Client::from_conf(tagging.build()),
        )),
    })
}

/// One attempt per call: the executor retries, and must see (and count) every attempt.
pub(crate) fn single_attempt() -> RetryConfig {
    RetryConfig::standard().with_max_attempts(1)
}

/// The one `SdkConfig` every client is built from.
pub(crate) async fn load_sdk_config(settings: &CloudSettings) -> Result<SdkConfig, AwsSetupError> {
    if settings.region.trim().is_empty() {
        return Err(AwsSetupError::EmptyRegion);
    }
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(settings.region.clone()))
        .retry_config(single_attempt())
        // Without an operation timeout a hung connection would stall a whole cycle; the
        // connect timeout is the SDK's default, restated because setting a TimeoutConfig
        // replaces the defaults wholesale.
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_millis(3100))
                .operation_timeout(Duration::from_secs(60))
                .build(),
        );
    if let Ok(name) = AppName::new("trimtab") {
        loader = loader.app_name(name);
    }
    if let Some(url) = &settings.endpoint_url {
        validate_endpoint("all services", url)?;
        loader = loader.endpoint_url(url.clone());
    }
    Ok(loader.load().await)
}

fn validate_endpoint(service: &'static str, url: &str) -> Result<(), AwsSetupError> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    match rest {
        Some(host) if !host.is_empty() && !host.starts_with('/') => Ok(()),
        _ => Err(AwsSetupError::InvalidEndpoint {
            service,
            url: url.to_owned(),
        }),
    }
}

/// An SDK output lacked a field AWS always sends: a protocol mismatch worth failing loudly on,
/// rather than inventing a value.
pub(crate) fn missing(op: Op, field: &str) -> CloudError {
    CloudError::new(
        ErrorKind::Other,
        op,
        format!("response is missing required field {field}"),
    )
}

/// An SDK input builder refused our values (a required field was empty): the request is wrong,
/// and retrying cannot fix it.
pub(crate) fn invalid_input(
    op: Op,
    err: aws_smithy_types::error::operation::BuildError,
) -> CloudError {
    CloudError::new(ErrorKind::Invalid, op, "request could not be built").with_source(err)
}

pub(crate) fn to_aws_time(t: SystemTime) -> aws_smithy_types::DateTime {
    aws_smithy_types::DateTime::from(t)
}

pub(crate) fn from_aws_time(
    op: Op,
    t: &aws_smithy_types::DateTime,
) -> Result<SystemTime, CloudError> {
    SystemTime::try_from(*t).map_err(|e| {
        CloudError::new(ErrorKind::Other, op, format!("timestamp out of range: {t}")).with_source(e)
    })
}

/// AWS models counts as `i32`; ours are `u32`. Values past `i32::MAX` are beyond every AWS
/// limit, so they saturate and AWS rejects them as invalid instead of wrapping negative.
pub(crate) fn to_i32(v: u32) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

/// AWS counts back to ours; negatives (never sent by AWS) clamp to zero.
pub(crate) fn to_u32(v: i32) -> u32 {
    u32::try_from(v).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::model::{Backend, SimSettings};

    fn settings(endpoint: Option<&str>) -> CloudSettings {
        CloudSettings {
            backend: Backend::Aws,
            region: "eu-west-1".into(),
            endpoint_url: endpoint.map(str::to_owned),
            rate_limits: BTreeMap::new(),
            simulated: SimSettings::default(),
        }
    }

    #[tokio::test]
    async fn one_attempt_and_the_settings_region() {
        let sdk = load_sdk_config(&settings(Some("http://127.0.0.1:1")))
            .await
            .unwrap();
        assert_eq!(sdk.retry_config().map(|r| r.max_attempts()), Some(1));
        assert_eq!(sdk.region().map(|r| r.as_ref()), Some("eu-west-1"));
        assert_eq!(sdk.endpoint_url(), Some("http://127.0.0.1:1"));
        // The clients inherit it.
        let conf = aws_sdk_lambda::Config::from(&sdk);
        assert_eq!(conf.retry_config().map(|r| r.max_attempts()), Some(1));
    }

    #[tokio::test]
    async fn bad_settings_are_refused() {
        let mut s = settings(None);
        s.region = " ".into();
        assert!(matches!(
            load_sdk_config(&s).await,
            Err(AwsSetupError::EmptyRegion)
        ));
        assert!(matches!(
            load_sdk_config(&settings(Some("localhost:4566"))).await,
            Err(AwsSetupError::InvalidEndpoint { .. })
        ));
        let over = EndpointOverrides {
            cloudwatch: Some("ftp://x".into()),
            ..Default::default()
        };
        assert!(matches!(
            connect_with(&settings(None), &over).await,
            Err(AwsSetupError::InvalidEndpoint {
                service: "cloudwatch",
                ..
            })
        ));
    }

    #[test]
    fn counts_saturate_instead_of_wrapping() {
        assert_eq!(to_i32(u32::MAX), i32::MAX);
        assert_eq!(to_i32(50), 50);
        assert_eq!(to_u32(-1), 0);
    }
}
