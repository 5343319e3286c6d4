// Logs, traces and metrics: a Log Analytics workspace and the Application Insights resource
// the app sends telemetry to with its identity (local, key-based ingestion is off).

@description('Azure region of the resources.')
param location string

@description('Prefix of the resource names.')
param baseName string

@description('Tags of the resources.')
param tags object = {}

@description('Days Log Analytics keeps logs.')
@minValue(30)
@maxValue(730)
param retentionInDays int = 30

resource logs 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: '${baseName}-logs'
  location: location
  tags: tags
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: retentionInDays
  }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: '${baseName}-insights'
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logs.id
    // Telemetry is accepted only with an Entra token (APPLICATIONINSIGHTS_AUTHENTICATION_STRING).
    DisableLocalAuth: true
  }
}

// The name only: the app module reads the ingestion endpoint from the resource itself.
output insightsName string = insights.name
output workspaceName string = logs.name
