// One Event Grid subscription per blob trigger of the project's definitions, delivering
// BlobCreated events under its path to its `blob_<name>` function.
//
// Deployed once the app code runs (azure.yaml's postdeploy hook, or main.bicep with
// blobTriggers set): Event Grid validates the webhook when a subscription is created, and the
// blobs_extension system key exists only once the host has loaded an Event Grid blob trigger.
// `durapipe package` writes the list as infra/blob-triggers.parameters.json.

@description('Name of the function app.')
param appName string

@description('Name of the storage account\'s Event Grid system topic.')
param topicName string

@description('The blob triggers: [{ name, function, subjectBeginsWith, subjectEndsWith }], as `durapipe package` writes them.')
param blobTriggers array = []

resource app 'Microsoft.Web/sites@2024-04-01' existing = {
  name: appName
}

resource storageEvents 'Microsoft.EventGrid/systemTopics@2022-06-15' existing = {
  name: topicName
}

// The blob trigger's Event Grid endpoint, as the Functions documentation gives it:
// https://<app host>/runtime/webhooks/blobs?functionName=Host.Functions.<function>&code=<blobs_extension key>
// The key is read at deployment time and goes only into the subscription, never to an output.
resource subscriptions 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = [
  for trigger in blobTriggers: {
    parent: storageEvents
    name: 'blob-${replace(trigger.name, '_', '-')}'
    properties: {
      destination: {
        endpointType: 'WebHook'
        properties: {
          endpointUrl: 'https://${app.properties.defaultHostName}/runtime/webhooks/blobs?functionName=Host.Functions.${trigger.function}&code=${listKeys('${app.id}/host/default', '2024-04-01').systemKeys.blobs_extension}'
          maxEventsPerBatch: 1
          preferredBatchSizeInKilobytes: 64
        }
      }
      eventDeliverySchema: 'EventGridSchema'
      filter: {
        includedEventTypes: [
          'Microsoft.Storage.BlobCreated'
        ]
        subjectBeginsWith: trigger.subjectBeginsWith
        subjectEndsWith: trigger.subjectEndsWith
      }
      retryPolicy: {
        maxDeliveryAttempts: 30
        eventTimeToLiveInMinutes: 1440
      }
    }
  }
]
