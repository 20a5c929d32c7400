#if FUNCTIONS_KAFKA_HOST_EXTENSION
// Makes the SDK add the Functions host's Kafka extension to a build for the official host.
// Only with -p:FunctionsKafkaHostExtension=true: NuGet must serve that package.
[assembly: Microsoft.Azure.Functions.Worker.Extensions.Abstractions.ExtensionInformation("Microsoft.Azure.WebJobs.Extensions.Kafka", "4.3.1")]
#endif
