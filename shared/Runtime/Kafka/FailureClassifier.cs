using System.Data.Common;
using System.Net.Sockets;
using Confluent.Kafka;

namespace SensorPipeline.Runtime.Kafka;

/// <summary>
/// Tells a dependency outage (not the message's fault: wait and retry, never dead-letter) from a
/// failure of the message itself (retry a bounded number of times, then dead-letter).
/// </summary>
public static class FailureClassifier
{
    public static bool IsDependencyUnavailable(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case DependencyUnavailableException:
                case PublishFailedException:
                case SocketException:
                case TimeoutException:
                case DbException { IsTransient: true }:
                    return true;
                case KafkaException kafka when IsTransient(kafka.Error.Code):
                    return true;
                case AggregateException aggregate when aggregate.InnerExceptions.Any(IsDependencyUnavailable):
                    return true;
            }
        }

        return false;
    }

    private static bool IsTransient(ErrorCode code) => code is
        ErrorCode.Local_Transport or ErrorCode.Local_AllBrokersDown or ErrorCode.Local_MsgTimedOut or
        ErrorCode.Local_TimedOut or ErrorCode.Local_QueueFull or ErrorCode.RequestTimedOut or
        ErrorCode.NotEnoughReplicas or ErrorCode.NotEnoughReplicasAfterAppend or ErrorCode.LeaderNotAvailable or
        ErrorCode.NotLeaderForPartition or ErrorCode.BrokerNotAvailable or ErrorCode.NetworkException or
        ErrorCode.Local_UnknownPartition or ErrorCode.UnknownTopicOrPart;
}
