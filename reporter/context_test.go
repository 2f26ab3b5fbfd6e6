package reporter

import "testing"

func TestBlobURL(t *testing.T) {
	t.Parallel()
	gh := Context{ServerURL: "https://github.example/", RepoPath: "acme/api", HeadSHA: "abc1234"}
	gl := Context{ServerURL: "https://gitlab.example", Platform: "gitlab", RepoPath: "grp/sub/api", HeadSHA: "abc1234"}
	tests := []struct {
		ctx  Context
		path string
		want string
	}{
		{gh, "src/main.go", "https://github.example/acme/api/blob/abc1234/src/main.go"},
		{gh, "/dir with space/a#b?.tf", "https://github.example/acme/api/blob/abc1234/dir%20with%20space/a%23b%3F.tf"},
		{gl, "main.tf", "https://gitlab.example/grp/sub/api/-/blob/abc1234/main.tf"},
		{gh, "../../../evil/phish", ""},
		{gh, "a/./b", ""},
		{gh, "a//b", ""},
		{gh, "", ""},
		{Context{RepoPath: "acme/api", HeadSHA: "abc"}, "a.go", ""},
	}
	for _, tt := range tests {
		if got := tt.ctx.BlobURL(tt.path); got != tt.want {
			t.Errorf("BlobURL(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}
