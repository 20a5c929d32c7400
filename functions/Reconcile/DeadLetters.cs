using Microsoft.Extensions.Options;
using Microsoft.Azure.Functions.Worker;
using SensorPipeline.Runtime.Hosting;
using SensorPipeline.Runtime.Kafka;

namespace SensorPipeline.Functions.Reconcile;

/// <summary>
/// Dead letters through the API: <c>GET /api/deadletters</c> lists those not replayed yet, with
/// counts by reason; <c>POST /api/deadletters/replay</c> sends them back to their original topics
/// (after a fix), each once.
/// </summary>
public sealed class DeadLetters(DeadLetterBox box, IOptions<PipelineOptions> options, IOptions<FunctionsHostOptions> host)
{
    private IEnumerable<string> Topics
    {
        get
        {
            var suffix = host.Value.Extensions.Kafka.DeadLetterSuffix;
            var o = options.Value;
            return new[] { o.RawTopic, o.RealtimeTopic, o.HistoricalTopic }.Select(t => t + suffix);
        }
    }

    [Function("ListDeadLetters")]
    public async Task<IResult> ListAsync(
        [HttpTrigger(AuthorizationLevel.Admin, "get", Route = "deadletters")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        var limit = int.TryParse(request.Query["limit"], out var l) && l is > 0 and <= 10_000 ? l : 1000;
        var letters = await box.ListAsync(Topics, limit, cancellationToken);
        return Results.Json(new
        {
            count = letters.Count,
            byReason = letters.GroupBy(d => (d.Function, d.Reason))
                .Select(g => new { function = g.Key.Function, reason = g.Key.Reason, count = g.Count() })
                .OrderByDescending(g => g.count),
            letters,
        });
    }

    [Function("ReplayDeadLetters")]
    public async Task<IResult> ReplayAsync(
        [HttpTrigger(AuthorizationLevel.Admin, "post", Route = "deadletters/replay")] HttpRequest request,
        CancellationToken cancellationToken) =>
        Results.Json(new { replayed = await box.ReplayAsync(Topics, cancellationToken) });
}
