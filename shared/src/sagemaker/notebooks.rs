//! Notebook instances: describe, stop, start.

use aws_sdk_sagemaker::Client;
use aws_sdk_sagemaker::types::{DirectInternetAccess, NotebookInstanceStatus, RootAccess};

use crate::aws::{AwsError, AwsResultExt};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notebook {
    pub name: String,
    pub arn: String,
    /// `InService`, `Stopped`, `Pending`, `Stopping`, `Failed`, `Deleting`, `Updating`.
    pub status: String,
    pub instance_type: String,
    pub kms_key_id: Option<String>,
    pub direct_internet_access: bool,
    pub root_access: bool,
}

impl Notebook {
    pub fn is_in_service(&self) -> bool {
        self.status == NotebookInstanceStatus::InService.as_str()
    }
    pub fn is_stopped(&self) -> bool {
        self.status == NotebookInstanceStatus::Stopped.as_str()
    }
}

pub async fn describe(client: &Client, name: &str) -> Result<Notebook, AwsError> {
    let out = client
        .describe_notebook_instance()
        .notebook_instance_name(name)
        .send()
        .await
        .aws("DescribeNotebookInstance")?;
    Ok(Notebook {
        name: out.notebook_instance_name().unwrap_or(name).to_owned(),
        arn: out.notebook_instance_arn().unwrap_or_default().to_owned(),
        status: out
            .notebook_instance_status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        instance_type: out
            .instance_type()
            .map(|t| t.as_str().to_owned())
            .unwrap_or_default(),
        kms_key_id: out.kms_key_id().map(str::to_owned),
        // SageMaker's defaults when the field is absent: both enabled.
        direct_internet_access: out.direct_internet_access()
            != Some(&DirectInternetAccess::Disabled),
        root_access: out.root_access() != Some(&RootAccess::Disabled),
    })
}

/// Stopping keeps the notebook's EBS volume and its data.
pub async fn stop(client: &Client, name: &str) -> Result<(), AwsError> {
    client
        .stop_notebook_instance()
        .notebook_instance_name(name)
        .send()
        .await
        .aws("StopNotebookInstance")?;
    Ok(())
}

pub async fn start(client: &Client, name: &str) -> Result<(), AwsError> {
    client
        .start_notebook_instance()
        .notebook_instance_name(name)
        .send()
        .await
        .aws("StartNotebookInstance")?;
    Ok(())
}

/// Names of every notebook instance in the region.
pub async fn list(client: &Client) -> Result<Vec<String>, AwsError> {
    let mut pages = client
        .list_notebook_instances()
        .into_paginator()
        .items()
        .send();
    let mut names = Vec::new();
    while let Some(notebook) = pages.next().await {
        if let Some(name) = notebook
            .aws("ListNotebookInstances")?
            .notebook_instance_name
        {
            names.push(name);
        }
    }
    Ok(names)
}
