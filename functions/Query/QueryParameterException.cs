using SensorPipeline.Functions.Http;

namespace SensorPipeline.Functions.Query;

/// <summary>A query parameter that cannot be used; answered with 400 and a message naming it.</summary>
public sealed class QueryParameterException(string parameter, string message) : Exception(message)
{
    public string Parameter { get; } = parameter;

    /// <summary>400, problem details naming the parameter (detail and <c>errors[0].field</c>).</summary>
    public IResult ToResult() =>
        Problems.Of(StatusCodes.Status400BadRequest, [new Domain.Ingest.ReadingError(null, Parameter, Message)], Message);
}
