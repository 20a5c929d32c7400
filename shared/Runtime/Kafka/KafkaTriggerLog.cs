using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace SensorPipeline.Runtime.Kafka;

/// <summary>The Kafka trigger's log messages (event ids 2000-2019), shared by the loop and its parts.</summary>
internal static partial class KafkaTriggerLog
{
    [LoggerMessage(EventId = 2000, Level = LogLevel.Information, Message = "{Function} listening on topic {Topic} as group {Group}")]
    internal static partial void LogListening(ILogger logger, string function, string topic, string group);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "{Function} assigned partitions [{Partitions}]")]
    internal static partial void LogAssigned(ILogger logger, string function, string partitions);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Information, Message = "{Function} revoked partitions [{Partitions}]")]
    internal static partial void LogRevoked(ILogger logger, string function, string partitions);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Warning, Message = "{Function}: Kafka consumer error {Code}: {Reason}")]
    internal static partial void LogConsumerError(ILogger logger, string function, ErrorCode code, string reason);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Warning, Message = "{Function} failed on {Count} message(s), attempt {Attempt} of {MaxAttempts}; retrying in {DelayMs} ms")]
    internal static partial void LogRetrying(ILogger logger, Exception exception, string function, int count, int attempt, int maxAttempts, double delayMs);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Warning, Message = "{Function}: a dependency is unavailable ({Reason}); partitions paused, retrying in {DelaySeconds} s")]
    internal static partial void LogDependencyDown(ILogger logger, string function, double delaySeconds, string reason);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Warning, Message = "{Function}: batch of {Count} keeps failing; splitting it to find the failing message")]
    internal static partial void LogSplitting(ILogger logger, string function, int count);

    [LoggerMessage(EventId = 2007, Level = LogLevel.Error, Message = "{Function}: message {Topic}/{Partition}@{Offset} dead-lettered to {DeadLetterTopic}: {Reason}")]
    internal static partial void LogDeadLettered(ILogger logger, string function, string topic, int partition, long offset, string deadLetterTopic, string reason);

    [LoggerMessage(EventId = 2008, Level = LogLevel.Error, Message = "{Function}: message {Topic}/{Partition}@{Offset} cannot be decoded")]
    internal static partial void LogUndecodable(ILogger logger, Exception exception, string function, string topic, int partition, long offset);

    [LoggerMessage(EventId = 2009, Level = LogLevel.Information, Message = "{Function}: in-flight batch of {Count} abandoned uncommitted")]
    internal static partial void LogAbandoned(ILogger logger, string function, int count);

    [LoggerMessage(EventId = 2010, Level = LogLevel.Debug, Message = "{Function}: offset of partition {Partition} at {Offset} not stored/seeked: {Reason}")]
    internal static partial void LogStoreFailed(ILogger logger, string function, int partition, long offset, string reason);

    [LoggerMessage(EventId = 2012, Level = LogLevel.Debug, Message = "{Function} yields: lag of {Functions} is over the threshold")]
    internal static partial void LogYielding(ILogger logger, string function, string functions);

    [LoggerMessage(EventId = 2011, Level = LogLevel.Information, Message = "{Function} stopped and left its group")]
    internal static partial void LogStopped(ILogger logger, string function);
}
