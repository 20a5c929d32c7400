using Microsoft.Azure.Functions.Worker;

namespace SensorPipeline.Functions.OperatorConsole;

/// <summary>
/// <c>GET /api/console/pipeline</c> (function key): the <see cref="PipelineView"/> as JSON — what the
/// dashboard's pipeline page and the terminal <c>status</c> command show.
/// </summary>
public sealed class PipelineViewFunction(PipelineView view)
{
    [Function(nameof(GetPipelineView))]
    public async Task<IResult> GetPipelineView(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "console/pipeline")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        using var activity = PipelineTracing.Query.StartActivity("GetPipelineView");
        return Results.Json(await view.ReadAsync(cancellationToken));
    }
}
