using System.Net.Sockets;
using Confluent.Kafka;
using Npgsql;
using SensorPipeline.Runtime;
using SensorPipeline.Runtime.Kafka;

namespace SensorPipeline.Tests.Unit;

public sealed class FailureClassifierTests
{
    [Fact]
    public void DependencyUnavailableException_is_a_dependency_outage()
    {
        Assert.True(FailureClassifier.IsDependencyUnavailable(new DependencyUnavailableException("database down")));
    }

    [Fact]
    public void TimeoutException_is_a_dependency_outage()
    {
        Assert.True(FailureClassifier.IsDependencyUnavailable(new TimeoutException()));
    }

    [Fact]
    public void SocketException_is_a_dependency_outage()
    {
        Assert.True(FailureClassifier.IsDependencyUnavailable(new SocketException((int)SocketError.ConnectionRefused)));
    }

    [Theory]
    [InlineData(ErrorCode.Local_Transport)]
    [InlineData(ErrorCode.Local_AllBrokersDown)]
    [InlineData(ErrorCode.Local_MsgTimedOut)]
    [InlineData(ErrorCode.NotEnoughReplicas)]
    [InlineData(ErrorCode.LeaderNotAvailable)]
    public void Transient_kafka_error_is_a_dependency_outage(ErrorCode code)
    {
        Assert.True(FailureClassifier.IsDependencyUnavailable(new KafkaException(code)));
    }

    [Theory]
    [InlineData(ErrorCode.InvalidMsg)]
    [InlineData(ErrorCode.MsgSizeTooLarge)]
    [InlineData(ErrorCode.TopicAuthorizationFailed)]
    [InlineData(ErrorCode.Local_Fatal)]
    public void Permanent_kafka_error_is_not_a_dependency_outage(ErrorCode code)
    {
        Assert.False(FailureClassifier.IsDependencyUnavailable(new KafkaException(code)));
    }

    [Fact]
    public void Failed_publish_is_a_dependency_outage()
    {
        Assert.True(FailureClassifier.IsDependencyUnavailable(
            new PublishFailedException("temperature.raw", 1, 3, new Error(ErrorCode.Local_MsgTimedOut))));
    }

    [Fact]
    public void Npgsql_exception_caused_by_a_socket_error_is_transient_and_a_dependency_outage()
    {
        var exception = new NpgsqlException("x", new SocketException());

        Assert.True(exception.IsTransient);
        Assert.True(FailureClassifier.IsDependencyUnavailable(exception));
    }

    [Fact]
    public void Npgsql_exception_that_is_not_transient_is_not_a_dependency_outage()
    {
        var exception = new NpgsqlException("x");

        Assert.False(exception.IsTransient);
        Assert.False(FailureClassifier.IsDependencyUnavailable(exception));
    }

    [Fact]
    public void Postgres_unique_violation_is_not_a_dependency_outage()
    {
        var exception = new PostgresException("duplicate key", "ERROR", "ERROR", PostgresErrorCodes.UniqueViolation);

        Assert.False(FailureClassifier.IsDependencyUnavailable(exception));
    }

    [Fact]
    public void Postgres_too_many_connections_is_a_dependency_outage()
    {
        var exception = new PostgresException("too many clients", "FATAL", "FATAL", PostgresErrorCodes.TooManyConnections);

        Assert.True(FailureClassifier.IsDependencyUnavailable(exception));
    }

    [Fact]
    public void An_exception_wrapping_an_outage_is_an_outage()
    {
        Assert.True(FailureClassifier.IsDependencyUnavailable(
            new InvalidOperationException("outer", new InvalidOperationException("middle", new TimeoutException()))));
        Assert.True(FailureClassifier.IsDependencyUnavailable(
            new InvalidOperationException("outer", new KafkaException(ErrorCode.Local_Transport))));
    }

    [Fact]
    public void An_aggregate_with_any_outage_is_an_outage()
    {
        Assert.True(FailureClassifier.IsDependencyUnavailable(
            new AggregateException(new FormatException(), new SocketException())));
        Assert.False(FailureClassifier.IsDependencyUnavailable(
            new AggregateException(new FormatException(), new InvalidOperationException())));
    }

    [Fact]
    public void A_failure_of_the_message_itself_is_not_an_outage()
    {
        Assert.False(FailureClassifier.IsDependencyUnavailable(new InvalidOperationException("bad")));
        Assert.False(FailureClassifier.IsDependencyUnavailable(new FormatException("bad")));
        Assert.False(FailureClassifier.IsDependencyUnavailable(new System.Text.Json.JsonException("bad")));
        Assert.False(FailureClassifier.IsDependencyUnavailable(new InvalidOperationException("outer", new FormatException("inner"))));
    }
}
