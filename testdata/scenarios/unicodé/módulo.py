# Imported by unicode.py: frames of these coroutines carry a non-ASCII file name
# (".../unicodé/módulo.py") as well as non-ASCII function and class names.
import asyncio


async def función():
    await asyncio.sleep(3600)


class Écrivain:
    async def écrire(self):
        await función()
