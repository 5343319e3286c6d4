// durapipe on Azure: one storage account (the durapipe store, the Durable task hub, the
// deployment package), a Python 3.11 function app on the Flex Consumption plan with a
// system-assigned identity, monitoring, and Event Grid delivery of arriving blobs.
// Every connection is identity-based: no key or connection string is read, set or output.

targetScope = 'resourceGroup'

@description('Azure region of every resource; it must offer the Flex Consumption plan.')
param location string = resourceGroup().location

@description('Prefix of resource names (letters and digits, lower case).')
@minLength(2)
@maxLength(10)
param namePrefix string = 'durapipe'

@description('NCRONTAB schedule (six fields, seconds first) of the scheduled retraining run.')
param retrainSchedule string = '0 0 3 * * *'

@description('Blob container of the durapipe store (artifacts, step and run records, models, incoming data).')
param storeContainerName string = 'durapipe'

@description('Prefix, inside the store container, under which arriving data blobs start a batch-scoring run.')
param incomingPrefix string = 'incoming/'

@description('Name of the blob-trigger function that starts batch scoring (Event Grid source).')
param blobTriggerFunctionName string = 'score_arrived_blob'

@description('Create the Event Grid subscription. Set it to true on the second deployment, after the app code is published: Event Grid validates the webhook when the subscription is created, and the blobs_extension key exists only once the host runs a blob trigger with the Event Grid source.')
param deployBlobSubscription bool = false

@description('Largest number of instances the Flex Consumption plan scales out to.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Memory of each instance, in MB.')
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

var suffix = uniqueString(resourceGroup().id, namePrefix)
var storageAccountName = take(toLower('${namePrefix}${suffix}'), 24)
var appName = '${namePrefix}-${suffix}'
var deploymentContainerName = 'app-package'
var incomingSubject = '/blobServices/default/containers/${storeContainerName}/blobs/${incomingPrefix}'

// Built-in role definition ids (the same in every tenant).
var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

// ---------------------------------------------------------------- storage

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: storageAccountName
  location: location
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowCrossTenantReplication: false
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    // A deleted artifact or record can be brought back for a week.
    deleteRetentionPolicy: { enabled: true, days: 7 }
    containerDeleteRetentionPolicy: { enabled: true, days: 7 }
  }
}

resource storeContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: storeContainerName
  properties: { publicAccess: 'None' }
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: { publicAccess: 'None' }
}

// ---------------------------------------------------------------- monitoring

resource logs 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: '${appName}-logs'
  location: location
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: 30
  }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: '${appName}-insights'
  location: location
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logs.id
    // Telemetry is accepted only with an Entra token (APPLICATIONINSIGHTS_AUTHENTICATION_STRING).
    DisableLocalAuth: true
  }
}

// ---------------------------------------------------------------- function app

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: '${appName}-plan'
  location: location
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true // Linux
  }
}

resource app 'Microsoft.Web/sites@2024-04-01' = {
  name: appName
  location: location
  kind: 'functionapp,linux'
  identity: { type: 'SystemAssigned' }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      // Flex Consumption sets the runtime in functionAppConfig: FUNCTIONS_WORKER_RUNTIME and
      // FUNCTIONS_EXTENSION_VERSION are not allowed as app settings on this plan.
      appSettings: [
        { name: 'AzureWebJobsStorage__accountName', value: storage.name }
        { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: insights.properties.ConnectionString }
        { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'Authorization=AAD' }
        // A function_app/ package would shadow function_app.py, so the worker imports main.py.
        { name: 'PYTHON_SCRIPT_FILE_NAME', value: 'main.py' }
        { name: 'DURAPIPE_STORE', value: '${storage.properties.primaryEndpoints.blob}${storeContainerName}' }
        { name: 'DURAPIPE_RETRAIN_SCHEDULE', value: retrainSchedule }
        { name: 'DURAPIPE_INCOMING_PREFIX', value: incomingPrefix }
        // host.json's routePrefix is "" so the web view is served at '/': the host's own home page must step aside.
        { name: 'AzureWebJobsDisableHomepage', value: 'true' }
      ]
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
  dependsOn: [
    storeContainer
    deploymentContainer
  ]
}

// ---------------------------------------------------------------- role assignments

// Blobs: the store and the deployment package. Queues and tables: the Durable task hub
// (Azure Storage provider) and the blob trigger's poison and receipt bookkeeping.
var storageRoles = [
  roles.storageBlobDataOwner
  roles.storageQueueDataContributor
  roles.storageTableDataContributor
]

resource storageRoleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for role in storageRoles: {
    name: guid(storage.id, app.id, role)
    scope: storage
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
      principalId: app.identity.principalId
      principalType: 'ServicePrincipal'
    }
  }
]

resource insightsRoleAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(insights.id, app.id, roles.monitoringMetricsPublisher)
  scope: insights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: app.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

// ---------------------------------------------------------------- blob arrival (Event Grid)

resource storageEvents 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: '${appName}-storage-events'
  location: location
  properties: {
    source: storage.id
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

// The blob trigger's Event Grid endpoint, as the Functions documentation gives it:
// https://<app host>/runtime/webhooks/blobs?functionName=Host.Functions.<function>&code=<blobs_extension key>
// The key is read at deployment time and goes only into the subscription, never to an output.
resource incomingBlobCreated 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = if (deployBlobSubscription) {
  parent: storageEvents
  name: 'incoming-blob-created'
  properties: {
    destination: {
      endpointType: 'WebHook'
      properties: {
        endpointUrl: 'https://${app.properties.defaultHostName}/runtime/webhooks/blobs?functionName=Host.Functions.${blobTriggerFunctionName}&code=${listKeys('${app.id}/host/default', '2024-04-01').systemKeys.blobs_extension}'
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    eventDeliverySchema: 'EventGridSchema'
    filter: {
      includedEventTypes: [
        'Microsoft.Storage.BlobCreated'
      ]
      subjectBeginsWith: incomingSubject
    }
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
  }
}

// ---------------------------------------------------------------- outputs (names and URLs only)

output functionAppName string = app.name
output functionAppHostName string = app.properties.defaultHostName
output storageAccountName string = storage.name
output storeUrl string = '${storage.properties.primaryEndpoints.blob}${storeContainerName}'
output principalId string = app.identity.principalId
