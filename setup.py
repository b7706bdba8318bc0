"""Build of linclf's optional compiled kernel (src/linclf/_engine/fused.c).

Everything else is in pyproject.toml. ``fused.c`` is compiled three times, for AVX-512,
AVX2 + FMA and the target's baseline, and linclf loads the widest the CPU runs (runtime
dispatch, so a wheel built here runs on any x86-64). Each build is optional: without a C
compiler, on a compiler without GCC's vector extensions, or on a CPU family where the
flags mean nothing, the build is skipped with a warning and linclf runs its NumPy path.
``LINCLF_NO_COMPILE=1`` skips all three (CI uses it to prove the fallback installs).
"""

import os
import platform

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

SOURCE = "src/linclf/_engine/fused.c"
DEPENDS = ["src/linclf/_engine/fused_body.h"]
COMMON = ["-O3", "-std=gnu11", "-ffp-contract=fast", "-fvisibility=hidden", "-pthread"]
X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686", "x86")
VARIANTS = {"_fused_base": []}
if X86:
    VARIANTS["_fused_avx2"] = ["-mavx2", "-mfma"]
    VARIANTS["_fused_avx512"] = ["-mavx512f", "-mavx2", "-mfma"]


def extension(name, flags):
    return Extension(
        f"linclf._engine.{name}",
        sources=[SOURCE],
        depends=DEPENDS,
        define_macros=[("LINCLF_MODULE", name), ("_GNU_SOURCE", None)],
        extra_compile_args=COMMON + flags,
        extra_link_args=["-pthread"],
        libraries=["m"],
        optional=True,
    )


class OptionalBuild(build_ext):
    """build_ext that builds nothing when LINCLF_NO_COMPILE is set or the compiler is MSVC."""

    def build_extensions(self):
        if os.environ.get("LINCLF_NO_COMPILE") or self.compiler.compiler_type == "msvc":
            print("linclf: not compiling the fused kernel; the NumPy path will be used")
            self.extensions = []
            return
        super().build_extensions()


setup(
    ext_modules=[extension(name, flags) for name, flags in VARIANTS.items()],
    cmdclass={"build_ext": OptionalBuild},
)
