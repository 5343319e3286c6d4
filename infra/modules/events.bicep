// The Event Grid system topic of the storage account: the source of every blob trigger's events.

@description('Azure region of the topic (the storage account\'s).')
param location string

@description('Name of the topic.')
param name string

@description('Tags of the topic.')
param tags object = {}

@description('Resource id of the storage account whose blob events the topic publishes.')
param storageAccountId string

resource storageEvents 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: name
  location: location
  tags: tags
  properties: {
    source: storageAccountId
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

output name string = storageEvents.name
