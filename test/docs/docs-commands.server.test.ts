import { describeDocsPage } from "./docs-page-suite.js";

describeDocsPage("docs/server.md");
