// The storage account: the durapipe store, the Durable task hub (queues and tables) and the
// deployment package. Only Entra identities reach it: shared keys are off.

@description('Azure region of the account.')
param location string

@description('Name of the storage account (3-24 lower-case letters and digits).')
@minLength(3)
@maxLength(24)
param name string

@description('Tags of the account.')
param tags object = {}

@description('Blob container of the durapipe store.')
param storeContainerName string

@description('Blob container the Flex Consumption plan runs the app package from.')
param deploymentContainerName string

@description('Replication of the account: LRS is the cheapest; ZRS survives the loss of a zone.')
@allowed(['Standard_LRS', 'Standard_ZRS', 'Standard_GRS'])
param skuName string = 'Standard_LRS'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  //checkov:skip=CKV_AZURE_35: the default network rule stays Allow: the Flex Consumption app here has no virtual network, and Event Grid and the Functions host reach the account over the public endpoint; every request still needs an Entra token (shared keys are off).
  //checkov:skip=CKV_AZURE_59: public network access stays enabled for the same reason (no private endpoints without a virtual network); anonymous blob access is off and shared keys are off, so only the app's identity and users granted a data role get in.
  //checkov:skip=CKV_AZURE_206: Standard_LRS is the default to keep the cost low; artifacts can be recomputed from code and data, and skuName takes Standard_ZRS or Standard_GRS where run records must survive a zone or region.
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: skuName }
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

output name string = storage.name
output id string = storage.id
output blobEndpoint string = storage.properties.primaryEndpoints.blob
