using Microsoft.AspNetCore.Http;
using SensorPipeline.Runtime.Http;

namespace SensorPipeline.Tests.Unit;

public sealed class FunctionKeyValidatorTests
{
    private const string Master = "master-key";
    private const string IngestKey = "ingest-key";
    private const string OtherKey = "other-key";

    private static FunctionKeyValidator Validator(bool allowAnonymous = false) => new(new FunctionKeysOptions
    {
        Master = Master,
        Function = new(StringComparer.Ordinal) { ["ingest"] = IngestKey, ["other"] = OtherKey, ["empty"] = "" },
        AllowAnonymous = allowAnonymous,
    });

    private static HttpRequest WithHeader(string key)
    {
        var context = new DefaultHttpContext();
        context.Request.Headers["x-functions-key"] = key;
        return context.Request;
    }

    private static HttpRequest WithCode(string key)
    {
        var context = new DefaultHttpContext();
        context.Request.QueryString = QueryString.Create("code", key);
        return context.Request;
    }

    private static HttpRequest WithoutKey() => new DefaultHttpContext().Request;

    [Theory]
    [InlineData(AuthorizationLevel.Function)]
    [InlineData(AuthorizationLevel.Admin)]
    public void A_request_without_key_is_refused(AuthorizationLevel level)
    {
        Assert.False(Validator().IsAuthorized(WithoutKey(), level));
    }

    [Fact]
    public void Anonymous_level_needs_no_key()
    {
        Assert.True(Validator().IsAuthorized(WithoutKey(), AuthorizationLevel.Anonymous));
        Assert.True(Validator().IsAuthorized(WithHeader("wrong"), AuthorizationLevel.Anonymous));
    }

    [Theory]
    [InlineData(Master)]
    [InlineData(IngestKey)]
    [InlineData(OtherKey)]
    public void Function_level_accepts_the_master_key_or_any_function_key_in_the_header(string key)
    {
        Assert.True(Validator().IsAuthorized(WithHeader(key), AuthorizationLevel.Function));
    }

    [Theory]
    [InlineData(Master)]
    [InlineData(IngestKey)]
    [InlineData(OtherKey)]
    public void Function_level_accepts_the_master_key_or_any_function_key_in_the_code_query(string key)
    {
        Assert.True(Validator().IsAuthorized(WithCode(key), AuthorizationLevel.Function));
    }

    [Fact]
    public void Code_query_is_read_from_the_query_string()
    {
        var context = new DefaultHttpContext();
        context.Request.QueryString = new QueryString("?other=1&code=" + IngestKey);

        Assert.True(Validator().IsAuthorized(context.Request, AuthorizationLevel.Function));
    }

    [Theory]
    [InlineData("wrong")]
    [InlineData("ingest")]
    [InlineData("INGEST-KEY")]
    [InlineData("ingest-key ")]
    public void Function_level_refuses_a_wrong_key(string key)
    {
        Assert.False(Validator().IsAuthorized(WithHeader(key), AuthorizationLevel.Function));
        Assert.False(Validator().IsAuthorized(WithCode(key), AuthorizationLevel.Function));
    }

    [Fact]
    public void Admin_level_accepts_only_the_master_key()
    {
        Assert.True(Validator().IsAuthorized(WithHeader(Master), AuthorizationLevel.Admin));
        Assert.True(Validator().IsAuthorized(WithCode(Master), AuthorizationLevel.Admin));
        Assert.False(Validator().IsAuthorized(WithHeader(IngestKey), AuthorizationLevel.Admin));
        Assert.False(Validator().IsAuthorized(WithCode(OtherKey), AuthorizationLevel.Admin));
    }

    [Fact]
    public void The_header_wins_over_the_code_query()
    {
        var context = new DefaultHttpContext();
        context.Request.Headers["x-functions-key"] = "wrong";
        context.Request.QueryString = QueryString.Create("code", Master);

        Assert.False(Validator().IsAuthorized(context.Request, AuthorizationLevel.Function));
    }

    [Fact]
    public void An_empty_key_is_refused_even_when_a_configured_function_key_is_empty()
    {
        var context = new DefaultHttpContext();
        context.Request.QueryString = new QueryString("?code=");

        Assert.False(Validator().IsAuthorized(context.Request, AuthorizationLevel.Function));
    }

    [Fact]
    public void Without_a_master_key_admin_level_refuses_everything()
    {
        var validator = new FunctionKeyValidator(new FunctionKeysOptions { Function = new() { ["ingest"] = IngestKey } });

        Assert.False(validator.IsAuthorized(WithHeader(IngestKey), AuthorizationLevel.Admin));
        Assert.True(validator.IsAuthorized(WithHeader(IngestKey), AuthorizationLevel.Function));
    }

    [Theory]
    [InlineData(AuthorizationLevel.Anonymous)]
    [InlineData(AuthorizationLevel.Function)]
    [InlineData(AuthorizationLevel.Admin)]
    public void AllowAnonymous_lets_every_request_through(AuthorizationLevel level)
    {
        Assert.True(Validator(allowAnonymous: true).IsAuthorized(WithoutKey(), level));
        Assert.True(Validator(allowAnonymous: true).IsAuthorized(WithHeader("wrong"), level));
    }
}
