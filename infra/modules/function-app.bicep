// The Flex Consumption plan and the Python 3.11 function app with its system-assigned identity.
// Every connection is identity-based: no key or connection string is read, set or output.

@description('Azure region of the plan and the app.')
param location string

@description('Name of the function app (also the prefix of the plan name).')
param name string

@description('Tags of the app; azd finds the app it deploys to by its azd-service-name tag.')
param tags object = {}

@description('Name of the storage account (host storage, store, deployment package).')
param storageAccountName string

@description('Blob container of the durapipe store.')
param storeContainerName string

@description('Blob container the plan runs the app package from.')
param deploymentContainerName string

@description('Name of the Application Insights resource.')
param insightsName string

@description('Further app settings the project\'s definitions name (for example a schedule\'s %SETTING%); never a secret.')
param appSettings object = {}

@description('Largest number of instances the plan scales out to.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Memory of each instance, in MB.')
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource insights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: insightsName
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  //checkov:skip=CKV_AZURE_225: zone redundancy on Flex Consumption is offered only in some regions and needs zone-redundant storage; the default deployment is single-zone to run anywhere Flex Consumption does, at the lowest cost.
  name: '${name}-plan'
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true // Linux
  }
}

var identitySettings = [
  { name: 'AzureWebJobsStorage__accountName', value: storage.name }
  { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: insights.properties.ConnectionString }
  { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'Authorization=AAD' }
  // A function_app/ package would shadow function_app.py, so the worker imports main.py.
  { name: 'PYTHON_SCRIPT_FILE_NAME', value: 'main.py' }
  { name: 'DURAPIPE_STORE', value: '${storage.properties.primaryEndpoints.blob}${storeContainerName}' }
  // host.json's routePrefix is "" so the web view is served at '/': the host's own home page must step aside.
  { name: 'AzureWebJobsDisableHomepage', value: 'true' }
]
var projectSettings = [for setting in items(appSettings): { name: setting.key, value: string(setting.value) }]

resource app 'Microsoft.Web/sites@2024-04-01' = {
  //checkov:skip=CKV_AZURE_222: the app serves the durapipe HTTP API and the Event Grid webhook of its blob triggers over the public endpoint; every route needs a function key (or the blobs_extension system key), and there is no virtual network to put a private endpoint in.
  //checkov:skip=CKV_AZURE_17: client certificates would be demanded from every caller, and Event Grid's webhook delivery presents none, so blob triggers would stop; callers authenticate with function keys instead.
  //checkov:skip=CKV_AZURE_212: Flex Consumption scales from zero on demand; keeping always-ready instances for failover costs money around the clock, and Durable Functions resumes interrupted work from the task hub.
  //checkov:skip=CKV_AZURE_213: the Functions host has no health route of its own to probe under function keys, and a plan that scales to zero has no idle instance to probe; the platform replaces unhealthy Flex instances itself.
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: { type: 'SystemAssigned' }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      // Flex Consumption sets the runtime in functionAppConfig: FUNCTIONS_WORKER_RUNTIME and
      // FUNCTIONS_EXTENSION_VERSION are not allowed as app settings on this plan.
      appSettings: concat(identitySettings, projectSettings)
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: { type: 'SystemAssignedIdentity' }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
}

output name string = app.name
output id string = app.id
output hostName string = app.properties.defaultHostName
output principalId string = app.identity.principalId
