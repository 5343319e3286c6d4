// durapipe on Azure: one storage account (the durapipe store, the Durable task hub, the
// deployment package), a Python 3.11 function app on the Flex Consumption plan with a
// system-assigned identity, monitoring, and Event Grid delivery of arriving blobs.
// Every connection is identity-based: no key or connection string is read, set or output.
// `azd up` deploys it with main.parameters.json; `az deployment group create` works too.

targetScope = 'resourceGroup'

@description('Name of the azd environment (AZURE_ENV_NAME); it tags every resource.')
param environmentName string = 'durapipe'

@description('Azure region of every resource; it must offer the Flex Consumption plan.')
param location string = resourceGroup().location

@description('Prefix of resource names (letters and digits, lower case).')
@minLength(2)
@maxLength(10)
param namePrefix string = 'durapipe'

@description('Blob container of the durapipe store (artifacts, step and run records, models, arriving data).')
param storeContainerName string = 'durapipe'

@description('Further app settings the project\'s definitions name, such as a schedule\'s %SETTING%; never a secret.')
param appSettings object = {}

@description('The blob triggers of the project\'s definitions, as `durapipe package` writes them to blob-triggers.parameters.json; leave empty until the app code is published (see blob-subscriptions.bicep).')
param blobTriggers array = []

@description('Largest number of instances the Flex Consumption plan scales out to.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Memory of each instance, in MB.')
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@description('Replication of the storage account.')
@allowed(['Standard_LRS', 'Standard_ZRS', 'Standard_GRS'])
param storageSku string = 'Standard_LRS'

var suffix = uniqueString(resourceGroup().id, namePrefix)
var storageAccountName = take(toLower('${namePrefix}${suffix}'), 24)
var appName = '${namePrefix}-${suffix}'
var deploymentContainerName = 'app-package'
var tags = { 'azd-env-name': environmentName }

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    location: location
    name: storageAccountName
    tags: tags
    storeContainerName: storeContainerName
    deploymentContainerName: deploymentContainerName
    skuName: storageSku
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    location: location
    baseName: appName
    tags: tags
  }
}

module functionApp 'modules/function-app.bicep' = {
  name: 'function-app'
  params: {
    location: location
    name: appName
    // azd deploys the `app` service of azure.yaml to the resource with this tag.
    tags: union(tags, { 'azd-service-name': 'app' })
    storageAccountName: storage.outputs.name
    storeContainerName: storeContainerName
    deploymentContainerName: deploymentContainerName
    insightsName: monitoring.outputs.insightsName
    appSettings: appSettings
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
  }
}

module roles 'modules/roles.bicep' = {
  name: 'roles'
  params: {
    storageAccountName: storage.outputs.name
    insightsName: monitoring.outputs.insightsName
    principalId: functionApp.outputs.principalId
    appId: functionApp.outputs.id
  }
}

module events 'modules/events.bicep' = {
  name: 'events'
  params: {
    location: location
    name: '${appName}-storage-events'
    tags: tags
    storageAccountId: storage.outputs.id
  }
}

module blobSubscriptions 'modules/blob-subscriptions.bicep' = if (!empty(blobTriggers)) {
  name: 'blob-subscriptions'
  params: {
    appName: functionApp.outputs.name
    topicName: events.outputs.name
    blobTriggers: blobTriggers
  }
  dependsOn: [
    roles
  ]
}

// Names and URLs only (azd keeps outputs as environment values; none is a secret).
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_FUNCTION_APP_HOST_NAME string = functionApp.outputs.hostName
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_EVENTGRID_TOPIC_NAME string = events.outputs.name
output DURAPIPE_STORE string = '${storage.outputs.blobEndpoint}${storeContainerName}'
output AZURE_PRINCIPAL_ID string = functionApp.outputs.principalId
